"""Helpers shared by the ingest tests: event bodies, settings, row counts, waiting."""

from __future__ import annotations

import errno
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import duckdb
import psycopg

from ingest.config import Settings, load_settings
from ingest.testing.ports import free_port as free_port  # the tests import it from here
from schema import EVENT_TABLES, TableSpec
from schema.dialects import DUCKDB as duckdb_dialect
from schema.dialects import POSTGRES as postgres_dialect
from tests.schema.events import sample

# The kinds ``events`` cycles through: every family, orders twice (so tables differ in size).
KINDS: tuple[tuple[str, str], ...] = (
    ("order.lifecycle", "created"),
    ("order.lifecycle", "delivery_status_changed"),
    ("driver.telemetry", "location_updated"),
    ("campaign.interaction", "outreach_attempted"),
)


def event(category: str = "order.lifecycle", name: str = "created", **fields: Any) -> dict[str, Any]:
    """A valid event of (category, name); keyword arguments replace or add top-level fields."""
    return sample(category, name, **fields)


def encode(body: Any) -> bytes:
    """JSON bytes of any body (``json.dumps`` writes NaN and Infinity, as some producers do)."""
    return json.dumps(body).encode()


def lock_event_tables(conn: psycopg.Connection[Any]) -> None:
    """Hold every event table until ``conn``'s transaction ends: writes to them wait meanwhile."""
    for spec in EVENT_TABLES.values():
        table = postgres_dialect.qualified(spec.name, postgres_dialect.DEFAULT_NAMESPACE)
        conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE".encode())


def waiting_on_a_lock(pg_url: str) -> bool:
    """Whether a session of ``pg_url``'s database is waiting on a lock (a write held by
    ``lock_event_tables``): the event to wait for instead of sleeping."""
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (database,),
        ).fetchone()
    return bool(found and found[0])


def events(count: int) -> list[dict[str, Any]]:
    """``count`` valid events spread over every family."""
    return [event(*KINDS[index % len(KINDS)]) for index in range(count)]


def settings(**overrides: Any) -> Settings:
    """Settings as the service reads them, with small batches and a short flush for tests, and a
    data directory (the memory bus's spool) of their own."""
    values: dict[str, Any] = {
        "EVENT_SINK_BATCH_SIZE": 100,
        "EVENT_SINK_FLUSH_INTERVAL_MS": 20,
        "INGEST_DATA_DIR": tempfile.mkdtemp(prefix="ingest-test-"),
    }
    values.update(overrides)
    return load_settings(**values)


def rows(url: str, spec: TableSpec, columns: str = "count(*)") -> list[tuple[Any, ...]]:
    """Query a table of the warehouse at ``url`` (Postgres or DuckDB, default namespace)."""
    if url.startswith("duckdb://"):
        table = duckdb_dialect.qualified(spec.name, duckdb_dialect.DEFAULT_NAMESPACE)
        with duckdb.connect(url.removeprefix("duckdb://")) as conn:
            return conn.execute(f"SELECT {columns} FROM {table}").fetchall()
    table = postgres_dialect.qualified(spec.name, postgres_dialect.DEFAULT_NAMESPACE)
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT {columns} FROM {table}".encode()).fetchall()


def refuse_rows(url: str, spec: TableSpec, check: str) -> None:
    """Make the warehouse itself refuse rows that fail ``check`` (a SQL boolean expression), as a
    constraint a DBA added would: recreate the (empty) table from its DDL with a CHECK clause."""
    if url.startswith("duckdb://"):
        dialect: Any = duckdb_dialect
        with duckdb.connect(url.removeprefix("duckdb://")) as conn:
            _recreate_with_check(conn, dialect, spec, check)
        return
    with psycopg.connect(url, autocommit=True) as pg:
        _recreate_with_check(pg, postgres_dialect, spec, check)


def _recreate_with_check(conn: Any, dialect: Any, spec: TableSpec, check: str) -> None:
    create, *rest = dialect.create_table(spec, dialect.DEFAULT_NAMESPACE)
    conn.execute(f"DROP TABLE {dialect.qualified(spec.name, dialect.DEFAULT_NAMESPACE)}")
    conn.execute(create.removesuffix("\n)") + f",\n  CHECK ({check})\n)")
    for statement in rest:
        conn.execute(statement)


def count(url: str, spec: TableSpec) -> int:
    return int(rows(url, spec)[0][0])


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class SpoolFsyncFault:
    """FAULT INJECTION (no real disk here fails an fsync on demand): the next fsync of a spool
    segment raises EIO, after waiting for ``release`` if it is cleared; every other fsync, and
    every later one, is the real call, which then reports success, as Linux may after it dropped
    the pages it could not write ("fsyncgate"). Install with ``monkeypatch.setattr(os, "fsync", fault)``."""

    def __init__(self) -> None:
        self.armed = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.reached = threading.Event()
        self._real = os.fsync

    def __call__(self, descriptor: int) -> None:
        target = os.readlink(f"/proc/self/fd/{descriptor}")
        if self.armed.is_set() and target.endswith(".spool"):
            self.armed.clear()
            self.reached.set()
            self.release.wait(30)
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        self._real(descriptor)
