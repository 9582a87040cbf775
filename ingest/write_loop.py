"""The write loop: one sealed batch into the warehouse, whatever it takes, without losing a row.

* A batch is one warehouse transaction, tables and dead letters together.
* An error that is not the warehouse refusing the rows (``Writer.refuses_rows`` is False:
  unreachable, read-only, a missing table, a bad configuration, a client bug) is retried with
  capped exponential backoff and full jitter, forever: an outage is backpressure, never loss. While
  waiting, the warehouse is probed, and the write is retried as soon as it answers again.
* A batch the warehouse refuses for its rows is bisected until each refused row is alone; that row
  becomes a dead letter (rule ``warehouse_rejected``). A dead letter the warehouse refuses too is
  retried like an outage: never dropped, so its position is never acknowledged.
* Counters move only for what was committed.

Time goes through injected ``sleep`` / ``clock`` / ``jitter``, so tests drive it.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from ingest.batcher import Entries
from ingest.deadletters import warehouse_rejection
from ingest.metrics import Metrics
from ingest.step import Decoded, rejected
from ingest.writers.base import Writer
from schema import DEAD_LETTER_TABLE, TABLES
from schema.contract import mask_secrets

log = logging.getLogger(__name__)

RETRY_BASE_S = 0.1
RETRY_MAX_S = 30.0
# How often a waiting retry asks the warehouse whether it is back.
PROBE_INTERVAL_S = 0.25

_SPECS = {spec.name: spec for spec in TABLES}


class _Refused(Exception):
    """The warehouse refused the rows of a write for their content."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def describe(error: BaseException) -> str:
    """An error as it may be logged: its type and message, credentials masked."""
    return mask_secrets(f"{type(error).__name__}: {error}")


class WriteLoop:
    """Writes batches for the sink's writer thread; see the module docstring."""

    def __init__(
        self,
        writer: Writer,
        metrics: Metrics,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float, float], float] = random.uniform,
        probe_interval_s: float = PROBE_INTERVAL_S,
    ) -> None:
        self.writer = writer
        self.metrics = metrics
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self.probe_interval_s = probe_interval_s
        self.last_error: str | None = None

    def write(self, entries: Entries) -> None:
        """Commit every entry: as rows of their tables, or as dead letters the warehouse refused."""
        parts = [entries]
        while parts:
            part = parts.pop()
            try:
                self._write_retrying(part, retry_refusals=False)
            except _Refused as refusal:
                flat = [item for rows in part.values() for item in rows.values()]
                if len(flat) == 1:
                    self._dead_letter_refused(flat[0], refusal.error)
                    continue
                middle = len(flat) // 2
                parts.extend(_group(half) for half in (flat[middle:], flat[:middle]))

    def _dead_letter_refused(self, item: Decoded, error: BaseException) -> None:
        letter = rejected(
            item.message, warehouse_rejection(error), datetime.now(UTC), self.writer.row_encoder()
        )
        log.error("dead-lettering a row the warehouse refused (%s): %s", item.message.origin, describe(error))
        # If the warehouse refuses even this, it is retried until it takes it: dropping it would
        # acknowledge an input that is nowhere.
        self._write_retrying({DEAD_LETTER_TABLE.name: {letter.key: letter}}, retry_refusals=True)

    def _write_retrying(self, part: Entries, *, retry_refusals: bool) -> None:
        tables = {_SPECS[name]: [item.row for item in rows.values()] for name, rows in part.items()}
        attempt = 0
        while True:
            try:
                counts = self.writer.write(tables)
            except Exception as error:
                if not retry_refusals and self.writer.refuses_rows(error):
                    raise _Refused(error) from error
                attempt += 1
                self.last_error = describe(error)
                self.metrics.retries.inc()
                log.warning("warehouse write failed (attempt %d), retrying: %s", attempt, self.last_error)
                self._back_off(attempt)
                continue
            self.last_error = None
            self._count(part, counts)
            return

    def _back_off(self, attempt: int) -> None:
        """Wait a full-jitter exponential delay, cut short once the warehouse answers again after
        not answering (an outage ends: catch up now, not up to ``RETRY_MAX_S`` later)."""
        delay = self._jitter(0.0, min(RETRY_MAX_S, RETRY_BASE_S * 2 ** min(attempt - 1, 30)))
        deadline = self._clock() + delay
        # Reachable but refusing (read-only, a missing table) waits the whole delay; unreachable
        # waits until it answers.
        was_down = delay > self.probe_interval_s and not self._answers()
        while (remaining := deadline - self._clock()) > 0:
            self._sleep(min(remaining, self.probe_interval_s))
            if remaining <= self.probe_interval_s:
                return
            up = self._answers()
            if up and was_down:
                log.info("the warehouse answers again: retrying now")
                return
            was_down = not up

    def _answers(self) -> bool:
        try:
            self.writer.ping()
        except Exception:
            return False
        return True

    def _count(self, part: Entries, counts: dict[str, int]) -> None:
        for table, count in counts.items():
            self.metrics.written.labels(table=table).inc(count)
        letters = part.get(DEAD_LETTER_TABLE.name)
        if letters:
            for rule, count in Counter(item.rule or "" for item in letters.values()).items():
                self.metrics.rejected.labels(rule=rule).inc(count)


def _group(flat: list[Decoded]) -> Entries:
    entries: Entries = {}
    for item in flat:
        entries.setdefault(item.table, {})[item.key] = item
    return entries
