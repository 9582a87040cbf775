"""The batcher: decoded inputs into batches by size and age, bounded in bytes, handed to one writer.

A batch is sealed when it holds ``batch_size`` inputs or its first input is older than the flush
interval; sealed batches go to the writer in order through a short queue. ``full`` is the
backpressure signal: callers stop taking input (the pump pauses the bus, HTTP answers 503) while
``max_buffer_bytes`` of raw input waits or the writer is a whole queue behind.

Bus positions ride with the batch that was open when they arrived, so they are reported
(``take_committed``) only after every input before them is in the warehouse, in order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.metrics import Metrics
from ingest.step import Decoded

# Sealed batches queued for the writer thread, besides the one it is writing.
WRITE_QUEUE_DEPTH = 2

# table name -> primary key -> the decoded input (first one wins, as ON CONFLICT DO NOTHING would)
Entries = dict[str, dict[Any, Decoded]]


@dataclass
class Batch:
    entries: Entries = field(default_factory=dict)
    positions: list[Any] = field(default_factory=list)
    inputs: int = 0
    bytes: int = 0
    opened: float | None = None  # when its first input (or position) arrived


class Batcher:
    """See the module docstring. Thread-safe: many callers add, one writer thread takes."""

    def __init__(
        self,
        *,
        batch_size: int,
        flush_interval_s: float,
        max_buffer_bytes: int,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_buffer_bytes = max_buffer_bytes
        self.metrics = metrics
        self._clock = clock
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._open = Batch()
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=WRITE_QUEUE_DEPTH)
        self._pending_bytes = 0
        self._pending_inputs = 0
        self._sealed: list[Batch] = []  # sealed, not yet in the writer queue
        self._unwritten = 0  # sealed batches not yet committed
        self._handover = threading.Lock()  # keeps batches in order into the writer queue
        self._committed: list[Any] = []

    # -- the callers' side ------------------------------------------------------------------

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    @property
    def full(self) -> bool:
        """Stop taking input: the byte bound is reached, or the writer is a full queue behind
        (adding then would block the caller, and a Kafka consumer must keep polling)."""
        return self._pending_bytes >= self.max_buffer_bytes or self._unwritten > WRITE_QUEUE_DEPTH

    def wait_until_not_full(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for room; False if still full."""
        deadline = time.monotonic() + timeout
        with self._drained:
            while self.full:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drained.wait(remaining)
        return True

    def add(self, decoded: Sequence[Decoded], position: Any = None) -> None:
        """Buffer ``decoded``; ``position`` is reported once all of it is written. May block while
        the writer is a whole queue behind (the backpressure ``add`` relies on)."""
        with self._lock:
            batch = self._open
            if batch.opened is None and (decoded or position is not None):
                batch.opened = self._clock()
            entries = batch.entries
            for item in decoded:
                rows = entries.get(item.table)
                if rows is None:
                    rows = entries[item.table] = {}
                if item.key not in rows:
                    rows[item.key] = item
                size = len(item.message.raw)
                batch.inputs += 1
                batch.bytes += size
                self._pending_bytes += size
                self._pending_inputs += 1
                if batch.inputs >= self.batch_size:
                    self._seal_locked()
                    batch = self._open
                    batch.opened = self._clock()
                    entries = batch.entries
            if position is not None:
                # The open batch is written after every batch sealed so far, even when empty.
                self._open.positions.append(position)
        self._hand_over()

    def seconds_to_flush(self) -> float:
        """How long the open batch may still wait for more input (the flush interval if empty)."""
        opened = self._open.opened
        if opened is None:
            return self.flush_interval_s
        return max(0.0, self.flush_interval_s - (self._clock() - opened))

    def tick(self) -> None:
        """Seal the open batch once it is older than the flush interval (call it regularly).

        Never blocks: a consumer's poll loop calls it, and must keep polling (or be evicted from
        its group) while the warehouse is stalled. While full, nothing is sealed."""
        with self._lock:
            opened = self._open.opened
            due = opened is not None and self._clock() - opened >= self.flush_interval_s
            if due and not self.full:
                self._seal_locked()
        self._hand_over(timeout=0)

    def flush(self, timeout: float | None = None) -> bool:
        """Seal the open batch and wait until everything taken in is committed; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._open.inputs or self._open.positions:
                self._seal_locked()
        if not self._hand_over(timeout):
            return False
        with self._drained:
            while self._unwritten:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._drained.wait(remaining if remaining is not None else 1.0)
        return True

    def take_committed(self) -> list[Any]:
        """Positions whose inputs are all committed to the warehouse, oldest first."""
        with self._lock:
            committed, self._committed = self._committed, []
        return committed

    @property
    def unwritten_inputs(self) -> int:
        """Inputs taken in and not yet committed (what a shutdown deadline leaves behind)."""
        return self._pending_inputs

    # -- the writer's side ------------------------------------------------------------------

    def next_batch(self) -> Batch | None:
        """The next sealed batch, in order; None once ``stop`` was called."""
        return self._queue.get()

    def written(self, batch: Batch) -> None:
        """``batch`` is committed: release its bytes and report its positions."""
        with self._drained:
            self._pending_bytes -= batch.bytes
            self._pending_inputs -= batch.inputs
            self._unwritten -= 1
            self._committed.extend(batch.positions)
            self.metrics.buffer_bytes.set(self._pending_bytes)
            self.metrics.buffer_events.set(self._pending_inputs)
            self._drained.notify_all()
        self._hand_over(timeout=0)  # batches a non-blocking caller left sealed move on now

    def stop(self, timeout: float | None = None) -> bool:
        """Tell the writer thread to stop after the batches already queued; False on timeout."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return False
        return True

    # -- sealing and handing over ---------------------------------------------------------

    def _seal_locked(self) -> None:
        batch, self._open = self._open, Batch()
        self._sealed.append(batch)
        self._unwritten += 1
        self.metrics.buffer_bytes.set(self._pending_bytes)
        self.metrics.buffer_events.set(self._pending_inputs)

    def _hand_over(self, timeout: float | None = None) -> bool:
        """Move sealed batches to the writer queue, outside the lock. Waits while the queue is full
        for at most ``timeout`` seconds (None: as long as it takes); False if batches are still
        waiting, which a later call moves on."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._handover.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            return False
        try:
            while True:
                with self._lock:
                    if not self._sealed:
                        return True
                    batch = self._sealed[0]
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    self._queue.put(batch, timeout=remaining)
                except queue.Full:
                    return False
                with self._lock:
                    self._sealed.pop(0)
        finally:
            self._handover.release()
