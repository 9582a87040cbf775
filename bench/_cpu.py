"""CPU seconds spent on a measured stretch of a benchmark, so a reader sees which side moved.

A rate alone hides where the time went: a faster path may just burn more cores. Each benchmark
wraps its baseline and its own path in ``CpuMeter`` and prints CPU seconds per 1,000 events for
both. The meter counts this process (all its threads), its children that have been waited for
during the stretch (``RUSAGE_CHILDREN``), and any live processes it is told about by pid (a
spawned service or broker, read from ``/proc/<pid>/stat``), each with its live descendants (the
service's decode workers) and its reaped children. The Postgres server's own backends are not
counted: they belong to the shared server, not to the benchmark.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path
from types import TracebackType

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (utime and stime, fields 14 and 15) and of the
    children it waited for (cutime and cstime, 16 and 17); 0 once it is gone (its parent then has
    it among the children it waited for)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return sum(int(field) for field in fields[11:15]) / _TICKS


def descendants(pid: int) -> set[int]:
    """The live processes below ``pid`` (children of any of its threads, recursively)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
        for child in children:
            found |= {child, *descendants(child)}
    return found


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that were waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class CpuMeter:
    """``with CpuMeter(pid, ...) as meter:`` then ``meter.seconds``: CPU used inside the block."""

    def __init__(self, *pids: int, own: bool = True) -> None:
        """``own=False`` counts only ``pids`` (when this process is the load generator)."""
        self.pids = pids
        self.own = own
        self.seconds = 0.0

    def _now(self) -> float:
        live = descendants(os.getpid()) if self.own else set()
        for pid in self.pids:
            live |= {pid, *descendants(pid)}
        return (own_cpu_seconds() if self.own else 0.0) + sum(map(process_cpu_seconds, live))

    def __enter__(self) -> CpuMeter:
        self.machine = MachineMeter().__enter__()
        self._started = self._now()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.seconds = self._now() - self._started
        self.machine.__exit__(kind, error, trace)

    def per_thousand(self, events: int) -> float:
        """CPU seconds per 1,000 events."""
        return self.seconds * 1000 / events


def cpu_line(label: str, per_thousand: float, baseline: float | None = None) -> str:
    """One printed figure: CPU seconds per 1,000 events, and the ratio to the baseline's (lower
    is cheaper)."""
    ratio = f"  ratio {per_thousand / baseline:.2f}x" if baseline else ""
    return f"{label:<58} {per_thousand:>12.3f} CPU s/1k events{ratio}"


class MachineMeter:
    """``with MachineMeter() as busy:`` then ``busy.percent``: how busy the whole machine was
    (all processes, the database server's included), from /proc/stat, 100% per core. A figure
    near the core count says the run was bound by CPU, not by waiting."""

    def __init__(self) -> None:
        self.percent = 0.0
        self.cores = os.cpu_count() or 1
        self._started: tuple[int, int] | None = None

    @staticmethod
    def _ticks() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    def __enter__(self) -> MachineMeter:
        self._started = self._ticks()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._started is None:  # never entered: nothing was measured
            return
        busy, total = (now - then for now, then in zip(self._ticks(), self._started, strict=True))
        self.percent = 100.0 * self.cores * busy / total if total else 0.0


def busy_line(label: str, meter: CpuMeter | MachineMeter) -> str:
    """How busy the whole machine was during ``meter``'s stretch."""
    busy = meter.machine if isinstance(meter, CpuMeter) else meter
    return f"{label:<58} {busy.percent:>12.0f} % of {busy.cores * 100}% CPU (whole machine)"
