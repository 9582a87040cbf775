"""The running service: a bus, a sink and a writer, a pump thread between them, and HTTP intake.

The pump is the only thread that talks to the bus's consumer side: it polls, hands messages to
the sink, acknowledges what the sink reports committed, and pauses the bus while the sink is full.
Stopping is bounded (``INGEST_SHUTDOWN_TIMEOUT_S``): no new input (the memory bus's spool is read
to its end first), what was taken in is written while time allows, and only what was written is
acknowledged. What is left stays on the bus (or
in the memory bus's spool) and is delivered again on the next start.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.bus import Bus, BusFull, open_bus
from ingest.bus.base import BusProblem
from ingest.config import Settings
from ingest.deadletters import claims
from ingest.decoding import worker_count
from ingest.framing import Malformed
from ingest.messages import Message
from ingest.metrics import Metrics
from ingest.sink import Sink
from ingest.write_loop import describe
from ingest.writers import Writer, open_writer
from schema import EventValidationError, Issue, parse_event
from schema.contract import mask_secrets
from schema.events import EventEnvelope
from schema.exceptions import preview

log = logging.getLogger(__name__)

HTTP_ORIGIN = "http"
MAX_POLL_WAIT_S = 0.1
# A sink that stays full this long means a stalled warehouse: pause the bus (pausing purges the
# consumer's prefetched messages, so doing it whenever the writer is a batch behind costs more
# than waiting a moment for it).
PAUSE_AFTER_S = 1.0
# How long a rebalance may wait for in-flight batches before giving the partitions up anyway.
REVOKE_FLUSH_TIMEOUT_S = 10.0
# How long a request with rejected items waits for their dead letters on a shared bus (the same
# budget the bus drivers give a publish).
REJECTED_DURABLE_TIMEOUT_S = 10.0
# Rejected items described one by one in a response; past these, only counted per rule.
DETAILED_REJECTIONS = 100


@dataclass(frozen=True)
class Rejection:
    """Why one item of a request was not accepted (it is on its way to the dead-letter table)."""

    index: int
    event_id: str | None
    reason: str
    issues: list[dict[str, str]]


@dataclass
class Intake:
    """The outcome of one ``POST /v1/events``: counts, and the first rejected items in detail."""

    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_total: int = 0
    rejected_by_rule: Counter[str] = field(default_factory=Counter)


class Service:
    """Owns the writer, sink, bus and pump of one ingest process."""

    def __init__(self, settings: Settings, *, writer: Writer | None = None, bus: Bus | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.writer = writer or open_writer(settings)
        try:
            self.bus = bus or open_bus(settings)
        except BaseException:
            self.writer.close()
            raise
        self.sink = Sink(
            self.writer,
            batch_size=settings.batch_size,
            flush_interval_s=settings.flush_interval_ms / 1000,
            max_buffer_bytes=settings.max_buffer_bytes,
            decode_workers=worker_count(settings.decode_workers),
            metrics=self.metrics,
        )
        self._stopping = threading.Event()
        self._abandoned = threading.Event()  # the shutdown deadline passed: the pump stops at once
        self._pump: threading.Thread | None = None
        self.pump_error: str | None = None
        self._tables_present = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self.settings.warehouse == "duckdb":
            # The embedded warehouse belongs to this service: make it usable out of the box.
            self.writer.provision()
        self.sink.start()
        self.bus.on_revoke(self._flush_and_commit)
        self._pump = threading.Thread(target=self._run_pump, name="ingest-pump", daemon=True)
        self._pump.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop consuming, write what was taken in for at most ``timeout`` seconds, acknowledge
        what was written, close. False if the deadline left input unwritten (it is not lost: it
        was never acknowledged, so the bus or the spool delivers it again)."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def remaining() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        self._stopping.set()
        if self._pump is not None:
            self._pump.join(remaining())
            self._abandoned.set()
            self._pump = None
        unwritten = self.sink.batcher.unwritten_inputs
        drained = self.sink.close(remaining())
        self.bus.commit(self.sink.take_committed(), wait=True)
        if not drained:
            log.warning(
                "shutdown deadline reached with %d of %d inputs unwritten; they stay unacknowledged "
                "on the bus (or in the spool) and are delivered again on the next start",
                self.sink.batcher.unwritten_inputs,
                unwritten,
            )
        self.bus.close()
        if drained:
            self.writer.close()  # else the writer thread may still hold it: the process exit ends it
        return drained

    def _flush_and_commit(self) -> None:
        if not self.sink.flush(timeout=REVOKE_FLUSH_TIMEOUT_S):
            log.warning("rebalance: in-flight batches not written within %.0fs", REVOKE_FLUSH_TIMEOUT_S)
        self.bus.commit(self.sink.take_committed(), wait=True)

    def _run_pump(self) -> None:
        try:
            self._pump_until_stopped()
        except Exception as error:
            self.pump_error = type(error).__name__
            log.exception("the bus pump stopped")

    def _pump_until_stopped(self) -> None:
        bus, sink = self.bus, self.sink
        # A batch's age counts from when the poll that filled it returned: short polls keep the
        # flush interval honest (a poll of the whole interval would double it).
        wait = min(MAX_POLL_WAIT_S, sink.flush_interval_s / 4)
        paused = False
        while not self._abandoned.is_set():
            stopping = self._stopping.is_set()
            if stopping and not bus.drain_on_stop:
                break
            if sink.full and not sink.wait_until_not_full(PAUSE_AFTER_S) and not paused:
                log.warning("the warehouse is not keeping up: pausing the bus")
                bus.pause()
                paused = True
            if paused and not sink.full and sink.pending_bytes <= sink.max_buffer_bytes // 2:
                log.info("the warehouse caught up: resuming the bus")
                bus.resume()
                paused = False
            polled = bus.poll(self.settings.batch_size, min(wait, sink.seconds_to_flush()))
            if polled.messages or polled.position is not None:
                sink.add(polled.messages, polled.position)
            sink.tick()
            committed = sink.take_committed()
            if committed:
                bus.commit(committed)
            if stopping and not polled.messages:
                break

    # -- HTTP intake -----------------------------------------------------------------------

    @property
    def full(self) -> bool:
        """Whether HTTP must shed load now. A bus that takes every item (the spool) has its own
        bound and refuses with BusFull; otherwise rejected items go to the sink, which must have room."""
        return not self.bus.takes_invalid_input and self.sink.full

    async def publish(self, good: Sequence[Message], bad: Sequence[Message]) -> None:
        """Put a request's items where they are durable before the 202; raise BusFull to shed.

        Valid items go on the bus. Rejected ones go on the bus too when it is the service's own
        (the memory bus's spool); on a shared bus (Kafka, Pub/Sub) they are not events its other
        consumers should see, so they go to the sink and the answer waits until the dead-letter
        table has them (503 if it cannot confirm in time: the retry is harmless, valid items are
        idempotent on ``event_id``)."""
        if self.bus.takes_invalid_input:
            await self.bus.publish([*good, *bad])
            return
        if good:
            await self.bus.publish(good)
        if bad:
            await asyncio.to_thread(self.sink.add, bad)
            if not await asyncio.to_thread(self.sink.flush, REJECTED_DURABLE_TIMEOUT_S):
                raise BusFull("the dead-letter table did not confirm the rejected items in time")

    def readiness(self) -> dict[str, str]:
        """Each dependency and "ok" or what is wrong with it, without hosts, names or
        credentials (anyone may ask); the details go to the log (blocking: call from a thread)."""
        checks = {"warehouse": self._warehouse_state(), "bus": "ok"}
        try:
            self.bus.ping()
        except BusProblem as problem:
            checks["bus"] = mask_secrets(str(problem))
        except Exception as error:
            log.warning("readiness: the bus does not answer: %s", describe(error))
            checks["bus"] = f"unreachable ({type(error).__name__}); see the service log"
        checks["pump"] = self.pump_state()
        return checks

    def pump_state(self) -> str:
        """ "ok", or "stopped" with the error's type if it died (never its text: anyone may ask)."""
        alive = self._pump is not None and self._pump.is_alive()
        return f"stopped ({self.pump_error})" if self.pump_error else ("ok" if alive else "stopped")

    @property
    def pump_failed(self) -> bool:
        """Whether the pump died on an error while the service runs: nothing consumes the bus
        any more (a subscription deleted, a permission revoked) and only a restart retries, so
        ``/healthz`` fails and the platform's liveness probe restarts the instance. An error while
        stopping does not count: the process is ending anyway."""
        return self.pump_error is not None and not self._stopping.is_set()

    def _warehouse_state(self) -> str:
        try:
            self.writer.ping()
            if not self._tables_present:
                missing = self.writer.missing_tables()
                if missing:
                    return f"tables missing: {', '.join(missing)} (run `ingest provision`)"
                self._tables_present = True
        except Exception as error:
            log.warning("readiness: the warehouse does not answer: %s", describe(error))
            return f"unreachable ({type(error).__name__}); see the service log"
        if self.sink.last_error:
            return "writes are failing and being retried; see the service log"
        return "ok"


def validate(
    items: Sequence[bytes], detailed: int = DETAILED_REJECTIONS
) -> tuple[list[Message], list[Message], Intake]:
    """Each item of a request, valid or rejected; the first ``detailed`` rejections described."""
    good: list[Message] = []
    bad: list[Message] = []
    outcome = Intake()
    for index, raw in enumerate(items):
        try:
            if isinstance(raw, Malformed):
                raise EventValidationError([Issue("", "json_invalid", raw.reason, preview(bytes(raw)))])
            event: EventEnvelope = parse_event(raw)
        except EventValidationError as error:
            bad.append(Message(bytes(raw), HTTP_ORIGIN, error=error))
            outcome.rejected_total += 1
            outcome.rejected_by_rule[error.first.rule] += 1
            if len(outcome.rejected) < detailed:
                outcome.rejected.append(_rejection(index, raw, error))
            continue
        good.append(Message(raw, HTTP_ORIGIN, event=event))
    outcome.accepted = len(good)
    return good, bad, outcome


def _rejection(index: int, raw: bytes, error: EventValidationError) -> Rejection:
    _, event_id = claims(raw)
    issues = [
        {"field": issue.field, "rule": issue.rule, "message": issue.message, "value": issue.value}
        for issue in error.issues
    ]
    return Rejection(index=index, event_id=event_id, reason=str(error), issues=issues)
