"""Decoding across cores: the pure step (``ingest.step``) in worker processes, fed polled batches.

Validating an event and encoding its row is most of the CPU it costs. In one process that work
takes turns with the writer thread and the bus client under one GIL; in worker processes
(``ingest.decode_workers``) it runs on the other cores while this process polls, batches and
writes. The calling thread decodes a share of each batch itself instead of waiting idle, so one
worker and the caller use two cores for the price of one extra process. Measured in ``bench/``.

* Results come back in input order (a batch is cut into slices and joined in order), so the
  batcher sees exactly what decoding in this thread would give: positions, first-wins dedupe and
  dead letters are unchanged. Decoding acknowledges nothing, so a worker that dies (an OOM kill)
  loses nothing: that batch is decoded in this thread, and so are the batches of the next
  ``RESTART_AFTER_S``, then new workers start (a worker that cannot start, or dies each time, costs
  a spawn and an error line per period, never the pump: an OSError there stops nothing). A
  worker that hangs (stopped, livelocked, never ready) is killed after ``WORKER_TIMEOUT_S``, as dead:
  without the bound the pump would block on its pipe forever, consuming nothing, while the
  service still looks healthy (and the drain, waiting for the pump, would never end).
* Small batches (an HTTP request, a trickle) and inputs the HTTP intake already validated are
  decoded in the calling thread: a round trip to a worker costs more than they do. So are the
  batches that arrive while the workers still start: a short replay does not wait for them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ingest.decode_workers import Worker, WorkerGone
from ingest.messages import Message
from ingest.step import Decoded, attach_columns, decode
from ingest.writers.base import RowEncoder

log = logging.getLogger(__name__)

# Inputs per slice sent to a worker; a batch smaller than one slice is decoded in this thread.
MIN_SLICE = 256
# The calling thread's share of a batch, against 1 for each worker: less, since it also polls,
# batches and feeds the writer.
CALLER_SHARE = 0.5
READY_POLL_S = 0.01
# How long a batch waits on its workers (sending slices, receiving steps), and a worker may take to
# say ready, before they are taken for hung and killed. A slice decodes in milliseconds to a few
# seconds (multi-MB bodies), a worker starts in about one: far less.
WORKER_TIMEOUT_S = 30.0
# How long batches are decoded here after a worker died, hung or could not start.
RESTART_AFTER_S = 5.0


def worker_count(configured: int | None) -> int:
    """``INGEST_DECODE_WORKERS``, or by default one per CPU this process may use (its affinity,
    capped by a cgroup CPU quota, as a container's limit sets it) but one, since the calling
    thread decodes a share too: none with a single CPU, where there is nothing to overlap with."""
    if configured is not None:
        return configured
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, int(quota)))
    return cpus - 1


def _cgroup_cpu_quota(path: str = "/sys/fs/cgroup/cpu.max") -> float | None:
    """CPUs allowed by a cgroup v2 quota ("max 100000": none), or None without one."""
    try:
        quota, period = Path(path).read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


class Decoder:
    """Decodes batches of messages, in ``workers`` processes and the calling thread (0 workers:
    in the calling thread only). One caller at a time: the pump, or the replay loop."""

    def __init__(
        self,
        workers: int,
        encode: RowEncoder | None,
        *,
        min_slice: int = MIN_SLICE,
        worker_timeout_s: float = WORKER_TIMEOUT_S,
    ) -> None:
        self.workers = workers
        self.encode = encode
        self.min_slice = min_slice
        self.worker_timeout_s = worker_timeout_s
        self._pool: list[Worker] = []
        self._lock = threading.Lock()
        self._restart_at = 0.0

    def start(self, wait: bool = False) -> None:
        """Start the workers (each takes about a second to import the schema). Until they are
        ready, batches are decoded in the calling thread; ``wait`` blocks until they are."""
        if self.workers > 0:
            with self._lock:
                try:
                    pool = self._running_pool()
                    while wait and not all(worker.ready() for worker in pool):
                        time.sleep(READY_POLL_S)
                except WorkerGone as gone:
                    self._failed(gone)

    @property
    def worker_pids(self) -> list[int]:
        return [worker.pid for worker in self._pool]

    def decode(self, messages: Sequence[Message], received_at: datetime) -> list[Decoded]:
        if self.workers <= 0 or len(messages) < self.min_slice or _validated(messages):
            return decode(messages, received_at, self.encode)
        with self._lock:
            if time.monotonic() >= self._restart_at:
                try:
                    pool = self._running_pool()
                    workers = [worker for worker in pool if worker.ready(self.worker_timeout_s)]
                    if workers:
                        return self._decode_spread(workers, messages, received_at)
                except WorkerGone as gone:
                    self._failed(gone)
        return decode(messages, received_at, self.encode)

    def close(self) -> None:
        with self._lock:
            self._discard()

    def _decode_spread(
        self, workers: list[Worker], messages: Sequence[Message], received_at: datetime
    ) -> list[Decoded]:
        workers = workers[: max(1, len(messages) // self.min_slice - 1)]
        mine = int(len(messages) * CALLER_SHARE / (len(workers) + CALLER_SHARE))
        size = -(-(len(messages) - mine) // len(workers))
        parts = [messages[start : start + size] for start in range(0, len(messages) - mine, size)]
        # Killing a hung worker breaks its pipes: a blocked send or receive raises WorkerGone.
        watchdog = threading.Timer(self.worker_timeout_s, _kill, (workers,))
        watchdog.daemon = True
        watchdog.start()
        try:
            for worker, part in zip(workers, parts, strict=False):
                worker.send([m.raw for m in part], [m.origin for m in part], received_at)
            done_here = decode(messages[len(messages) - mine :], received_at, self.encode)
            decoded: list[Decoded] = []
            for worker, part in zip(workers, parts, strict=False):
                decoded += attach_columns(worker.receive(), part)
        finally:
            watchdog.cancel()
        return decoded + done_here

    def _running_pool(self) -> list[Worker]:
        while len(self._pool) < self.workers:  # one by one: a failed start leaves the others to stop
            self._pool.append(Worker(self.encode))
        return self._pool

    def _failed(self, gone: WorkerGone) -> None:
        log.error(
            "a decode worker died, hung or did not start (%s); decoding here for %.0f s",
            gone,
            RESTART_AFTER_S,
        )
        self._discard()
        self._restart_at = time.monotonic() + RESTART_AFTER_S

    def _discard(self) -> None:
        pool, self._pool = self._pool, []
        for worker in pool:
            worker.stop()


def _kill(workers: list[Worker]) -> None:
    for worker in workers:
        worker.kill()


def _validated(messages: Sequence[Message]) -> bool:
    return any(message.event is not None or message.error is not None for message in messages)
