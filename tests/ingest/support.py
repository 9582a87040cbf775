"""Helpers shared by the ingest tests: event bodies, settings, row counts, waiting."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import duckdb
import psycopg

from ingest.config import Settings, load_settings
from schema import TableSpec
from schema.dialects import duckdb as duckdb_dialect
from schema.dialects import postgres as postgres_dialect

# One valid payload per (category, name): the smallest body each event accepts.
PAYLOADS: dict[tuple[str, str], dict[str, Any]] = {
    ("order.lifecycle", "created"): {"order_id": "o-1", "branch_id": "b-1"},
    ("order.lifecycle", "delivery_status_changed"): {"order_id": "o-1", "delivery_status": "picked_up"},
    ("driver.telemetry", "location_updated"): {"driver_id": "d-1", "latitude": 52.37, "longitude": 4.89},
    ("campaign.interaction", "outreach_attempted"): {"template_key": "t-1", "channel": "sms"},
}


def event(category: str = "order.lifecycle", name: str = "created", **fields: Any) -> dict[str, Any]:
    """A valid event of (category, name); keyword arguments replace or add top-level fields."""
    body: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "category": category,
        "name": name,
        "occurred_at": "2026-11-25T10:00:00+01:00",
        "source": "api",
        "schema_version": 1,
        "actor": {"type": "customer", "id": "c-1"},
        "context": {"request_id": "r-1"},
        "payload": dict(PAYLOADS[(category, name)]),
    }
    body.update(fields)
    return body


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def events(count: int) -> list[dict[str, Any]]:
    """``count`` valid events spread over every family."""
    kinds = list(PAYLOADS)
    return [event(*kinds[index % len(kinds)]) for index in range(count)]


def settings(**overrides: Any) -> Settings:
    """Settings as the service reads them, with small batches and a short flush for tests."""
    values: dict[str, Any] = {"EVENT_SINK_BATCH_SIZE": 100, "EVENT_SINK_FLUSH_INTERVAL_MS": 20}
    values.update(overrides)
    return load_settings(**values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rows(url: str, spec: TableSpec, columns: str = "count(*)") -> list[tuple[Any, ...]]:
    """Query a table of the warehouse at ``url`` (Postgres or DuckDB, default namespace)."""
    if url.startswith("duckdb://"):
        table = duckdb_dialect.qualified(spec.name, duckdb_dialect.DEFAULT_NAMESPACE)
        with duckdb.connect(url.removeprefix("duckdb://")) as conn:
            return conn.execute(f"SELECT {columns} FROM {table}").fetchall()
    table = postgres_dialect.qualified(spec.name, postgres_dialect.DEFAULT_NAMESPACE)
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT {columns} FROM {table}".encode()).fetchall()


def count(url: str, spec: TableSpec) -> int:
    return int(rows(url, spec)[0][0])


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
