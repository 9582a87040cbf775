"""Shared parts of the ingest benchmarks: events, producing, CPU time, printing.

The stand-ins (a fresh Postgres database, a Tansu broker, free ports) come from ``ingest.testing``,
which the tests use too.

Benchmarks are not tests: they print figures and the ratio to a baseline measured in the same run,
and assert nothing. Events are ~450-byte payloads over all families, as in the baselines of docs/ingest.md.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.messages import Message
from ingest.sink import Sink
from ingest.writers.base import Writer
from schema import EVENT_TABLES, TableSpec, event_row, parse_event

PAYLOAD_PADDING = 300  # an unknown payload field: kept in `payload`, brings it to ~450 bytes

_KINDS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("order.lifecycle", "created", {"order_id": "", "branch_id": "b-17", "customer_id": "c-4410"}),
    (
        "order.lifecycle",
        "delivery_status_changed",
        {"order_id": "", "driver_id": "d-88", "status": "in_delivery", "delivery_status": "picked_up"},
    ),
    (
        "driver.telemetry",
        "location_updated",
        {"driver_id": "d-88", "order_id": "", "latitude": 52.37, "longitude": 4.89, "speed_kmh": 31.5},
    ),
    ("campaign.interaction", "outreach_attempted", {"template_key": "winback-1", "channel": "sms"}),
)


def make_events(count: int, seed: int = 7) -> list[bytes]:
    """``count`` valid event bodies (JSON bytes), spread over every family."""
    return list(iter_events(count, seed))


def iter_events(count: int, seed: int = 7) -> Iterator[bytes]:
    """The bodies of ``make_events`` one at a time: a large file is written without holding it."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for index in range(count):
        category, name, payload = _KINDS[index % len(_KINDS)]
        payload = dict(payload)
        if "order_id" in payload:
            payload["order_id"] = f"o-{rng.randrange(10**7)}"
        payload["notes"] = "x" * PAYLOAD_PADDING
        body = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "category": category,
            "name": name,
            "occurred_at": (start + timedelta(milliseconds=index)).isoformat(),
            "source": "api",
            "schema_version": 1,
            "actor": {"type": "customer", "id": f"c-{index % 5000}"},
            "context": {"request_id": f"r-{index}", "ip": "10.0.0.1"},
            "payload": payload,
        }
        yield json.dumps(body, separators=(",", ":")).encode()


def produce(address: str, topic: str, bodies: list[bytes]) -> float:
    """Produce with acks=all; return events/s."""
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": address, "acks": "all", "enable.idempotence": True, "linger.ms": 20}
    )
    started = time.perf_counter()
    for body in bodies:
        while True:
            try:
                producer.produce(topic, body)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    return len(bodies) / (time.perf_counter() - started)


def line(label: str, value: float, unit: str, baseline: float | None = None, goal: str = "") -> str:
    ratio = f"  ratio {value / baseline:.2f}x" if baseline else ""
    text = f"{label:<58} {value:>12,.1f} {unit}{ratio}"
    return f"{text}  (goal {goal})" if goal else text


# Rows per table, built before a benchmark's clock starts: what a raw loader baseline writes.
Batch = dict[TableSpec, list[tuple[Any, ...]]]


def prebuilt(bodies: Sequence[bytes], batch_size: int = 5000) -> list[Batch]:
    """Validate ``bodies`` and group their rows by table, ``batch_size`` events per batch."""
    now = datetime.now(UTC)
    batches: list[Batch] = []
    for start in range(0, len(bodies), batch_size):
        grouped: Batch = {}
        for body in bodies[start : start + batch_size]:
            event = parse_event(body)
            grouped.setdefault(EVENT_TABLES[event.category], []).append(event_row(event, now))
        batches.append(grouped)
    return batches


def through_sink(writer: Writer, bodies: Sequence[bytes], batch_size: int) -> float:
    """Events/s of ``bodies`` through a sink into ``writer`` (validation included), in-thread
    decoding, as the stand-in benchmarks compare writers rather than decoders."""
    messages = [Message(body, f"bench:{index}") for index, body in enumerate(bodies)]
    started = time.perf_counter()
    running = Sink(writer, batch_size=batch_size, flush_interval_s=0.5, max_buffer_bytes=256 << 20).start()
    for start in range(0, len(messages), batch_size):
        running.add(messages[start : start + batch_size])
    running.close()
    return len(bodies) / (time.perf_counter() - started)
