"""Peak memory of a process and everything below it (the service and its decode workers).

One process's VmHWM no longer says what the service holds once it decodes in worker processes, and
the kernel keeps no peak for a group of processes: a thread samples the tree instead, every
``interval`` seconds, and keeps the peak of the sum. Two sums are kept: RSS (what the goal names;
pages shared between the processes, such as the interpreter and libraries, count once per process)
and PSS (each shared page divided among the processes that map it: what the tree costs the machine).
A peak shorter than the interval can be missed; the processes' own VmHWM bounds that error and is
printed beside it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from _cpu import descendants


def _kb(path: str, field: str) -> int:
    try:
        for text in Path(path).read_text().splitlines():
            if text.startswith(f"{field}:"):
                return int(text.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def tree(pid: int) -> set[int]:
    return {pid, *descendants(pid)}


class TreePeak:
    """``with TreePeak(pid) as peak:`` then ``peak.rss_mb`` / ``peak.pss_mb`` / ``peak.hwm_mb``."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.rss_mb = self.pss_mb = self.hwm_mb = 0.0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        pids = tree(self.pid)
        rss = sum(_kb(f"/proc/{pid}/status", "VmRSS") for pid in pids) / 1024
        pss = sum(_kb(f"/proc/{pid}/smaps_rollup", "Pss") for pid in pids) / 1024
        hwm = sum(_kb(f"/proc/{pid}/status", "VmHWM") for pid in pids) / 1024
        self.rss_mb, self.pss_mb = max(self.rss_mb, rss), max(self.pss_mb, pss)
        self.hwm_mb = max(self.hwm_mb, hwm)
        self.processes = max(self.processes, len(pids))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreePeak:
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.sample()
        self._stop.set()
        self._thread.join()
