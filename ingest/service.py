"""The running service: a bus, a sink and a writer, a pump thread between them, and HTTP intake.

The pump is the only thread that talks to the bus's consumer side: it polls, hands messages to
the sink, acknowledges what the sink reports committed, and pauses the bus while the sink is full.
Stopping drains: no new input, everything taken in is written, and the last positions committed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.bus import Bus, open_bus
from ingest.config import Settings
from ingest.deadletters import claims
from ingest.framing import Malformed
from ingest.messages import Message
from ingest.metrics import Metrics
from ingest.sink import Sink
from ingest.writers import Writer, open_writer
from schema import EventValidationError, Issue, parse_event
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


@dataclass(frozen=True)
class Rejection:
    """Why one item of a request was not accepted (it is in the dead-letter table)."""

    index: int
    event_id: str | None
    reason: str
    issues: list[dict[str, str]]


@dataclass
class Intake:
    """The outcome of one ``POST /v1/events``: counts and the rejected items."""

    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)


class Service:
    """Owns the writer, sink, bus and pump of one ingest process."""

    def __init__(self, settings: Settings, *, writer: Writer | None = None, bus: Bus | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.writer = writer or open_writer(settings)
        self.bus = bus or open_bus(settings)
        self.sink = Sink(
            self.writer,
            batch_size=settings.batch_size,
            flush_interval_s=settings.flush_interval_ms / 1000,
            max_buffer_bytes=settings.max_buffer_bytes,
            metrics=self.metrics,
        )
        self._stopping = threading.Event()
        self._pump: threading.Thread | None = None
        self.pump_error: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self.settings.warehouse == "duckdb":
            # The embedded warehouse belongs to this service: make it usable out of the box.
            self.writer.provision()
        self.sink.start()
        self.bus.on_revoke(self._flush_and_commit)
        self._pump = threading.Thread(target=self._run_pump, name="ingest-pump", daemon=True)
        self._pump.start()

    def stop(self) -> None:
        """Drain: stop consuming, write everything taken in, commit, close."""
        self._stopping.set()
        if self._pump is not None:
            self._pump.join()
            self._pump = None
        self.sink.close()
        self.bus.commit(self.sink.take_committed(), wait=True)
        self.bus.close()
        self.writer.close()

    def _flush_and_commit(self) -> None:
        if not self.sink.flush(timeout=REVOKE_FLUSH_TIMEOUT_S):
            log.warning("rebalance: in-flight batches not written within %.0fs", REVOKE_FLUSH_TIMEOUT_S)
        self.bus.commit(self.sink.take_committed(), wait=True)

    def _run_pump(self) -> None:
        try:
            self._pump_until_stopped()
        except Exception as error:
            self.pump_error = f"{type(error).__name__}: {error}"
            log.exception("the bus pump stopped")

    def _pump_until_stopped(self) -> None:
        bus, sink = self.bus, self.sink
        # A batch's age counts from when the poll that filled it returned: short polls keep the
        # flush interval honest (a poll of the whole interval would double it).
        wait = min(MAX_POLL_WAIT_S, sink.flush_interval_s / 4)
        paused = False
        while not self._stopping.is_set():
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
        if not bus.durable:
            # Input a non-durable bus holds exists nowhere else: take all of it before stopping.
            bus.resume()
            while (polled := bus.poll(self.settings.batch_size, 0)).messages:
                sink.add(polled.messages, polled.position)
        sink.flush()
        bus.commit(sink.take_committed(), wait=True)

    # -- HTTP intake -----------------------------------------------------------------------

    @property
    def full(self) -> bool:
        return self.sink.full

    async def intake(self, items: Sequence[bytes]) -> Intake:
        """Validate each item; publish the valid ones, dead-letter the rest; raise BusFull to shed."""
        good, bad, outcome = await asyncio.to_thread(_validate, items)
        await self.bus.publish(good)
        if bad:
            await asyncio.to_thread(self.sink.add, bad)
        return outcome

    def readiness(self) -> dict[str, str]:
        """Each dependency and "ok" or what is wrong with it (blocking: call from a thread)."""
        checks: dict[str, str] = {}
        for name, probe in (("warehouse", self.writer.ping), ("bus", self.bus.ping)):
            try:
                probe()
                checks[name] = "ok"
            except Exception as error:
                checks[name] = f"{type(error).__name__}: {error}"
        checks["pump"] = self.pump_error or (
            "ok" if self._pump is not None and self._pump.is_alive() else "stopped"
        )
        if self.sink.last_error:
            checks["warehouse"] = f"retrying writes: {self.sink.last_error}"
        return checks


def _validate(items: Sequence[bytes]) -> tuple[list[Message], list[Message], Intake]:
    good: list[Message] = []
    bad: list[Message] = []
    outcome = Intake()
    for index, raw in enumerate(items):
        try:
            if isinstance(raw, Malformed):
                raise EventValidationError([Issue("", "json_invalid", raw.reason, preview(bytes(raw)))])
            event: EventEnvelope = parse_event(raw)
        except EventValidationError as error:
            bad.append(Message(raw, HTTP_ORIGIN, error=error))
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
