"""The sink: the pure step, the batcher and the write loop, with one writer thread between them.

The caller of ``add`` (the bus pump, the replay loop) has its inputs decoded into rows
(``ingest.step``; in worker processes, ``ingest.decoding``) and buffers them (``ingest.batcher``);
a writer thread takes sealed batches in order and commits each (``ingest.write_loop``), while the
next batch is decoded.

Guarantees: a batch is one warehouse transaction; its bus positions are reported
(``take_committed``) only after that commit, in order; duplicates are skipped (first wins within a
batch, the table's primary key against earlier batches); a warehouse problem is retried, never
turned into dead letters; memory is bounded (``full``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ingest.batcher import Batcher
from ingest.decoding import MIN_SLICE, Decoder
from ingest.messages import Message
from ingest.metrics import Metrics
from ingest.write_loop import WriteLoop
from ingest.writers.base import Writer

log = logging.getLogger(__name__)


class Sink:
    """Validation, batching and idempotent writes into one warehouse; see the module docstring."""

    def __init__(
        self,
        writer: Writer,
        *,
        batch_size: int,
        flush_interval_s: float,
        max_buffer_bytes: int,
        decode_workers: int = 0,
        decode_min_slice: int = MIN_SLICE,
        metrics: Metrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.writer = writer
        self.metrics = metrics or Metrics()
        self.batcher = Batcher(
            batch_size=batch_size,
            flush_interval_s=flush_interval_s,
            max_buffer_bytes=max_buffer_bytes,
            metrics=self.metrics,
        )
        self.decoder = Decoder(decode_workers, writer.row_encoder(), min_slice=decode_min_slice)
        self.loop = WriteLoop(writer, self.metrics, sleep=sleep, clock=clock, jitter=jitter)
        self._thread: threading.Thread | None = None

    @property
    def flush_interval_s(self) -> float:
        return self.batcher.flush_interval_s

    @property
    def max_buffer_bytes(self) -> int:
        return self.batcher.max_buffer_bytes

    @property
    def last_error(self) -> str | None:
        """The last write error while retrying (masked), None once a write succeeds."""
        return self.loop.last_error

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sink:
        if self._thread is None:
            self.decoder.start()
            self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float | None = None) -> bool:
        """Write everything taken in, then stop the writer thread. With ``timeout``, give up after
        that many seconds and return False: what is unwritten was never acknowledged, so it stays
        on the bus or in the spool (the writer thread is a daemon and dies with the process)."""
        try:
            return self._drain(timeout)
        finally:
            self.decoder.close()  # nothing decodes after close: the callers have stopped adding

    def _drain(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.flush(timeout):
            return False
        if self._thread is not None:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self.batcher.stop(remaining):
                return False
            self._thread.join(remaining)
            if self._thread.is_alive():
                return False
            self._thread = None
        return True

    # -- taking input ----------------------------------------------------------------------

    def add(
        self, messages: Sequence[Message], position: Any = None, received_at: datetime | None = None
    ) -> None:
        """Validate and buffer ``messages``; ``position`` is reported by ``take_committed`` once
        every one of them is in the warehouse. May block while the writer is a queue behind."""
        decoded = self.decoder.decode(messages, received_at or datetime.now(UTC))
        accepted = sum(1 for item in decoded if item.rule is None)
        if accepted:
            self.metrics.accepted.labels(origin=messages[0].origin.split(":", 1)[0]).inc(accepted)
        self.batcher.add(decoded, position)

    @property
    def full(self) -> bool:
        return self.batcher.full

    @property
    def pending_bytes(self) -> int:
        return self.batcher.pending_bytes

    def wait_until_not_full(self, timeout: float) -> bool:
        return self.batcher.wait_until_not_full(timeout)

    def seconds_to_flush(self) -> float:
        return self.batcher.seconds_to_flush()

    def tick(self) -> None:
        self.batcher.tick()

    def flush(self, timeout: float | None = None) -> bool:
        return self.batcher.flush(timeout)

    def take_committed(self) -> list[Any]:
        return self.batcher.take_committed()

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        while (batch := self.batcher.next_batch()) is not None:
            started = time.monotonic()
            if batch.entries:
                self.loop.write(batch.entries)
            self.metrics.flush_seconds.observe(time.monotonic() - started)
            self.metrics.batch_size.observe(batch.inputs)
            self.batcher.written(batch)


__all__ = ["Message", "Sink"]
