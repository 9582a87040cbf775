"""The sink: validate, route, batch, write idempotently, dead-letter, retry, bound memory.

Two threads share the work so that decoding and database work overlap (design.md measured a
consumer that did them in turn at ~115% of 200% CPU): the caller of ``add`` (the bus pump, the
HTTP handler, the replay loop) validates and builds rows into the open batch; a writer thread
writes sealed batches in order. psycopg releases the GIL while Postgres works on a COPY, so the
next batch is decoded meanwhile.

Guarantees:

* A batch is written in one warehouse transaction, tables and dead letters together; the bus
  positions it covers are reported (``take_committed``) only after that commit, in order.
* Duplicates within a batch are dropped here (first wins, as ``ON CONFLICT DO NOTHING`` keeps the
  first row in the table); duplicates against the table are skipped by the writer.
* Transient warehouse errors are retried with capped exponential backoff and full jitter, forever:
  an outage is backpressure, never loss. Rows the warehouse refuses although they validated are
  isolated by bisection and dead-lettered (rule ``warehouse_rejected``); the rest land.
* Memory is bounded: ``full`` turns true once ``max_buffer_bytes`` of raw input is waiting, and
  callers stop taking input (the pump pauses the bus, HTTP answers 503) until it drains.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.deadletters import dead_letter, warehouse_rejection
from ingest.metrics import Metrics
from ingest.writers.base import Row, Writer
from schema import (
    DEAD_LETTER_TABLE,
    EVENT_TABLES,
    FAMILIES,
    EventValidationError,
    Issue,
    TableSpec,
    event_row,
    parse_event,
)
from schema.events import EventEnvelope
from schema.rows import dead_letter_row

log = logging.getLogger(__name__)

RETRY_BASE_S = 0.1
RETRY_MAX_S = 30.0
# Sealed batches queued for the writer thread, besides the one it is writing.
WRITE_QUEUE_DEPTH = 2


@dataclass(slots=True)
class Message:
    """One input as the bus or HTTP delivered it; ``event`` / ``error`` when already validated."""

    raw: bytes
    origin: str
    event: EventEnvelope | None = None
    error: EventValidationError | None = None


# table -> primary key -> (row, the message it came from, kept to dead-letter a row the warehouse refuses)
Entries = dict[TableSpec, dict[Any, tuple[Row, Message]]]

# Event model -> its table; None -> the dead-letter table.
_TABLE_OF: dict[type | None, TableSpec] = {
    envelope: EVENT_TABLES[family.category] for family in FAMILIES for envelope in family.envelopes.values()
}
_TABLE_OF[None] = DEAD_LETTER_TABLE


@dataclass
class _Batch:
    entries: Entries = field(default_factory=dict)
    # Event model -> its table's entries: a TableSpec hashes all of its columns, a class does not.
    by_model: dict[type | None, dict[Any, tuple[Row, Message]]] = field(default_factory=dict)
    positions: list[Any] = field(default_factory=list)
    inputs: int = 0
    bytes: int = 0
    opened: float | None = None  # when its first input (or position) arrived


@dataclass
class SinkStats:
    """Running totals of one sink (the metrics carry the same numbers for Prometheus)."""

    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    retries: int = 0


def backoff_delay(attempt: int, base: float = RETRY_BASE_S, cap: float = RETRY_MAX_S) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0.0, min(cap, base * 2 ** min(attempt, 30)))


class _Refused(Exception):
    """A write failed because of the rows themselves (not a transient warehouse error)."""


class Sink:
    """Batching, validation and idempotent writes into one warehouse; see the module docstring."""

    def __init__(
        self,
        writer: Writer,
        *,
        batch_size: int,
        flush_interval_s: float,
        max_buffer_bytes: int,
        metrics: Metrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.writer = writer
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_buffer_bytes = max_buffer_bytes
        self.metrics = metrics or Metrics()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._open = _Batch()
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=WRITE_QUEUE_DEPTH)
        self._pending_bytes = 0
        self._pending_inputs = 0
        self._sealed: list[_Batch] = []  # sealed, not yet in the writer queue
        self._unwritten = 0  # sealed batches not yet committed
        self._handover = threading.Lock()  # keeps batches in order into the writer queue
        self._committed: list[Any] = []
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.stats = SinkStats()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sink:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Write everything taken in, then stop the writer thread (shutdown drains)."""
        self.flush()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    # -- taking input ----------------------------------------------------------------------

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    @property
    def full(self) -> bool:
        """Stop taking input: the byte bound is reached, or the writer is a full queue behind
        (adding then would block the caller, and a Kafka consumer must keep polling)."""
        return self._pending_bytes >= self.max_buffer_bytes or self._unwritten > WRITE_QUEUE_DEPTH

    def wait_until_not_full(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for room; False if the sink is still full."""
        deadline = time.monotonic() + timeout
        with self._drained:
            while self.full:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drained.wait(remaining)
        return True

    def add(
        self, messages: Sequence[Message], position: Any = None, received_at: datetime | None = None
    ) -> None:
        """Validate and buffer ``messages``; ``position`` is reported by ``take_committed`` once
        every one of them is in the warehouse. May block while the writer is two batches behind."""
        stamp = received_at or datetime.now(UTC)
        # Validation and rows are built before taking the lock: the writer thread takes it to
        # account for each written batch and must not wait for a whole chunk to be parsed.
        prepared: list[tuple[type | None, Any, Row, Message]] = []
        rejected: Counter[str] = Counter()
        for message in messages:
            event = message.event
            if event is None and message.error is None:
                try:
                    event = parse_event(message.raw)
                except EventValidationError as error:
                    message.error = error
                except Exception as error:  # a validator bug must not stop ingestion or lose input
                    log.exception("unexpected error validating input from %s", message.origin)
                    message.error = EventValidationError(
                        [Issue("", "unexpected_validation_error", f"{type(error).__name__}: {error}", "")]
                    )
            if event is not None:
                prepared.append((type(event), event.event_id, event_row(event, stamp), message))
                continue
            assert message.error is not None
            record = dead_letter(message.raw, message.origin, message.error, stamp)
            prepared.append((None, record.dead_letter_id, dead_letter_row(record), message))
            rejected[record.error_rule] += 1
        with self._lock:
            batch = self._open
            if batch.opened is None and (prepared or position is not None):
                batch.opened = time.monotonic()
            for model, key, row, message in prepared:
                rows = batch.by_model.get(model)
                if rows is None:
                    rows = batch.by_model[model] = batch.entries.setdefault(_TABLE_OF[model], {})
                if key not in rows:
                    rows[key] = (row, message)
                size = len(message.raw)
                batch.inputs += 1
                batch.bytes += size
                self._pending_bytes += size
                self._pending_inputs += 1
                if batch.inputs >= self.batch_size:
                    self._seal_locked()
                    batch = self._open
                    batch.opened = time.monotonic()
            if position is not None:
                # The open batch is written after every batch sealed so far, even when empty.
                self._open.positions.append(position)
        accepted = len(prepared) - sum(rejected.values())
        if accepted:
            self.stats.accepted += accepted
            self.metrics.accepted.labels(origin=_origin_kind(messages[0].origin)).inc(accepted)
        for rule, count in rejected.items():
            self.stats.rejected[rule] += count
            self.metrics.rejected.labels(rule=rule).inc(count)
        self._hand_over()

    def seconds_to_flush(self) -> float:
        """How long the open batch may still wait for more input (the flush interval if empty)."""
        opened = self._open.opened
        if opened is None:
            return self.flush_interval_s
        return max(0.0, self.flush_interval_s - (time.monotonic() - opened))

    def tick(self) -> None:
        """Seal the open batch once it is older than the flush interval (call it regularly).

        Never blocks: a consumer's poll loop calls it, and must keep polling (or be evicted from
        its group) while the warehouse is stalled. While the sink is full nothing is sealed."""
        with self._lock:
            batch = self._open
            due = batch.opened is not None and time.monotonic() - batch.opened >= self.flush_interval_s
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

    # -- sealing and handing over ----------------------------------------------------------

    def _seal_locked(self) -> None:
        batch, self._open = self._open, _Batch()
        self._sealed.append(batch)
        self._unwritten += 1
        self.metrics.buffer_bytes.set(self._pending_bytes)
        self.metrics.buffer_events.set(self._pending_inputs)

    def _hand_over(self, timeout: float | None = None) -> bool:
        """Move sealed batches to the writer queue, outside the lock. Waits while the queue is full
        for at most ``timeout`` seconds (None: as long as it takes, the backpressure ``add``
        relies on); False if batches are still waiting, which a later call moves on."""
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

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            started = time.monotonic()
            if batch.entries:
                self._write_entries(batch.entries)
            self.metrics.flush_seconds.observe(time.monotonic() - started)
            self.metrics.batch_size.observe(batch.inputs)
            with self._drained:
                self._pending_bytes -= batch.bytes
                self._pending_inputs -= batch.inputs
                self._unwritten -= 1
                self._committed.extend(batch.positions)
                self.metrics.buffer_bytes.set(self._pending_bytes)
                self.metrics.buffer_events.set(self._pending_inputs)
                self._drained.notify_all()
            self._hand_over(timeout=0)  # batches a non-blocking caller left sealed move on now

    def _write_entries(self, entries: Entries) -> None:
        """Write all entries; on a refusal, bisect until each refused row is a dead letter."""
        parts = [entries]
        while parts:
            part = parts.pop()
            try:
                self._write_retrying({spec: [row for row, _ in rows.values()] for spec, rows in part.items()})
            except _Refused as refusal:
                flat = [(spec, key, entry) for spec, rows in part.items() for key, entry in rows.items()]
                if len(flat) == 1:
                    self._dead_letter_refused(flat[0][2][1], refusal.__cause__ or refusal)
                    continue
                middle = len(flat) // 2
                parts.extend(_regroup(half) for half in (flat[middle:], flat[:middle]))

    def _dead_letter_refused(self, message: Message, error: BaseException) -> None:
        record = dead_letter(message.raw, message.origin, warehouse_rejection(error), datetime.now(UTC))
        self.metrics.rejected.labels(rule=record.error_rule).inc()
        self.stats.rejected[record.error_rule] += 1
        log.error("dead-lettered a row the warehouse refused (%s): %s", message.origin, error)
        try:
            self._write_retrying({DEAD_LETTER_TABLE: [dead_letter_row(record)]})
        except _Refused:
            log.exception("the warehouse refused the dead letter too; raw body: %r", message.raw[:200])

    def _write_retrying(self, tables: dict[TableSpec, list[Row]]) -> None:
        attempt = 0
        while True:
            try:
                counts = self.writer.write(tables)
            except Exception as error:
                if self.writer.refuses_rows(error):
                    raise _Refused(str(error)) from error
                delay = backoff_delay(attempt)
                attempt += 1
                self.last_error = f"{type(error).__name__}: {error}"
                self.metrics.retries.inc()
                self.stats.retries += 1
                log.warning(
                    "warehouse write failed (attempt %d), retrying in %.2fs: %s", attempt, delay, error
                )
                self._sleep(delay)
                continue
            self.last_error = None
            for table, count in counts.items():
                self.metrics.written.labels(table=table).inc(count)
                self.stats.written[table] += count
            return


def _regroup(flat: Iterable[tuple[TableSpec, Any, tuple[Row, Message]]]) -> Entries:
    entries: Entries = {}
    for spec, key, entry in flat:
        entries.setdefault(spec, {})[key] = entry
    return entries


def _origin_kind(origin: str) -> str:
    return origin.split(":", 1)[0]
