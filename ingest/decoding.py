"""Decoding across cores: the pure step (``ingest.step``) in worker processes, fed polled batches.

Validating an event and encoding its row is most of the CPU it costs. In one process that work
takes turns with the writer thread and the bus client under one GIL; in worker processes it runs
on the other cores while this process polls, batches and writes. Measured in ``bench/``.

* Results come back in input order (a batch is cut into slices and joined in order), so the
  batcher sees exactly what decoding in this thread would give: positions, first-wins dedupe and
  dead letters are unchanged. Decoding acknowledges nothing, so a worker that dies (an OOM kill)
  loses nothing: that batch is decoded in this thread and a new pool starts on the next one.
* Workers are spawned, not forked: the service has threads (librdkafka's among them) whose locks a
  fork would copy. They ignore SIGINT and SIGTERM (the service owns shutdown and drains through
  them) and exit when this process is gone, SIGKILL included.
* Small batches (an HTTP request, a trickle) and inputs the HTTP intake already validated are
  decoded in the calling thread: a round trip to a worker costs more than they do.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path

from ingest.messages import Message
from ingest.step import Decoded, Step, attach, decode, decode_raw
from ingest.writers.base import RowEncoder

log = logging.getLogger(__name__)

# Inputs per slice sent to a worker; a batch smaller than one slice is decoded in this thread.
MIN_SLICE = 256
# Slices per worker and batch: more than one, so a worker that finishes early takes another.
SLICES_PER_WORKER = 2
# How often a worker checks that the service that started it is still there.
ORPHAN_CHECK_S = 1.0


def worker_count(configured: int | None) -> int:
    """``INGEST_DECODE_WORKERS``, or by default one per CPU this process may use (its affinity,
    capped by a cgroup CPU quota, as a container's limit sets it); none with a single CPU, where
    there is nothing to overlap with."""
    if configured is not None:
        return configured
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, int(quota)))
    return cpus if cpus > 1 else 0


def _cgroup_cpu_quota(path: str = "/sys/fs/cgroup/cpu.max") -> float | None:
    """CPUs allowed by a cgroup v2 quota ("max 100000": none), or None without one."""
    try:
        quota, period = Path(path).read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


class Decoder:
    """Decodes batches of messages, in ``workers`` processes (0: in the calling thread)."""

    def __init__(self, workers: int, encode: RowEncoder | None, *, min_slice: int = MIN_SLICE) -> None:
        self.workers = workers
        self.encode = encode
        self.min_slice = min_slice
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the workers now (each takes about a second to import the schema), not on the
        first batch, whose latency would carry it."""
        if self.workers > 0:
            pool = self._running_pool()
            for future in [pool.submit(_ready) for _ in range(self.workers)]:
                future.result()

    def decode(self, messages: Sequence[Message], received_at: datetime) -> list[Decoded]:
        if self.workers <= 0 or len(messages) < self.min_slice or _validated(messages):
            return decode(messages, received_at, self.encode)
        slices = max(1, min(self.workers * SLICES_PER_WORKER, len(messages) // self.min_slice))
        size = -(-len(messages) // slices)
        parts = [messages[start : start + size] for start in range(0, len(messages), size)]
        try:
            pool = self._running_pool()
            futures = [
                pool.submit(
                    decode_raw, [m.raw for m in part], [m.origin for m in part], received_at, self.encode
                )
                for part in parts
            ]
            steps: list[Step] = []
            for future in futures:
                steps.extend(future.result())
        except BrokenProcessPool:
            log.error("a decode worker died; decoding this batch here and starting new workers")
            self._discard()
            return decode(messages, received_at, self.encode)
        return attach(steps, messages)

    def close(self) -> None:
        self._discard()

    def _running_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def _discard(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _ready() -> None:
    """A no-op: submitting one per worker makes the pool start every worker."""


def _validated(messages: Sequence[Message]) -> bool:
    return any(message.event is not None or message.error is not None for message in messages)


def _start_worker(parent: int) -> None:
    """A worker's set-up: the parent handles signals; the worker leaves when the parent is gone."""
    from ingest.runtime import tune_for_throughput

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a slice in flight during the drain finishes
    tune_for_throughput()
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="orphan-check", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(0)
