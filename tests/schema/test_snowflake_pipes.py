"""The Snowflake pipes' COPY statements: golden text, and run on fakesnow's server.

fakesnow (Snowflake's SQL on DuckDB; no Snowflake runs here) has neither pipes nor COPY
transforms nor named file formats, so the test runs the pipe's COPY the way fakesnow can: the
staged files are loaded by ``COPY INTO … FILE_FORMAT = (TYPE = JSON)`` into a one-VARIANT-column
table, then the COPY's own SELECT list (``$1`` standing for that column) fills the real table,
created from the dialect's DDL. JSON paths are case-sensitive on both, so a COPY that reads
``$1:EVENT_ID`` from rows keyed ``event_id`` loads NULLs here as it would in Snowflake.

The dead-letter table is covered by the golden text only here: its raw body travels base64 and
``TO_BINARY(..., 'BASE64')`` decodes it (``SNOWFLAKE.staged_value``); the Snowflake writer's tests
load such rows on fakesnow and compare the bytes.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schema.dialects import SNOWFLAKE
from schema.tables import EVENT_TABLES, TABLES, TableSpec
from tests.schema.events import PAYLOADS, sample
from tests.schema.golden import assert_matches_golden

# Pulumi.yaml's defaults: database, the dialect's default schema, the stage and its file format.
DATABASE, NAMESPACE, STAGE, FILE_FORMAT = "ANALYTICS_DB", "ANALYTICS", "kafka_stage", "kafka_stage_json"
RECEIVED_AT = "2026-11-25T12:00:00+00:00"
COMMON = (
    *("event_id", "event_name", "occurred_at", "received_at", "source", "schema_version"),
    *("actor_type", "actor_id", "context", "payload"),
)

_COPY = re.compile(
    r"COPY INTO (?P<table>\S+) \((?P<columns>[^)]*)\) "
    r"FROM \(SELECT (?P<select>.+) FROM (?P<folder>@\S+)\) "
    r"FILE_FORMAT = \(FORMAT_NAME = (?P<format>\S+)\)"
)


def _copy(spec: TableSpec, database: str = DATABASE) -> str:
    return SNOWFLAKE.copy_into(spec, NAMESPACE, STAGE, FILE_FORMAT, database)


def test_every_pipe_copy_matches_its_golden_text() -> None:
    assert_matches_golden("snowflake_pipes.sql", "".join(f"{_copy(spec)};\n" for spec in TABLES))


def _staged_row(body: dict[str, Any], spec: TableSpec) -> dict[str, Any]:
    """One line of a staged file as the contract defines it (docs/contract.md): an object keyed by
    the lower-case column names, JSON columns as JSON values, timestamps as RFC 3339 text."""
    actor = body.get("actor") or {}
    row = {
        "event_id": body["event_id"],
        "event_name": body["name"],
        "occurred_at": body["occurred_at"],
        "received_at": RECEIVED_AT,
        "source": body["source"],
        "schema_version": body["schema_version"],
        "actor_type": actor.get("type"),
        "actor_id": actor.get("id"),
        "context": body["context"],
        "payload": body["payload"],
    }
    row.update({fact: body["payload"].get(fact) for fact in _facts(spec)})
    return row


def _facts(spec: TableSpec) -> list[str]:
    return [name for name in spec.column_names if name not in COMMON]


@pytest.fixture
def snowflake(fakesnow_port: int) -> Iterator[tuple[Any, str]]:
    """A cursor on a new fakesnow database holding the dialect's schema, tables and a stage; and
    the database's name."""
    import snowflake.connector

    connection = snowflake.connector.connect(
        user="test",
        password="test",
        account="fakesnow",
        host="127.0.0.1",
        port=fakesnow_port,
        protocol="http",
        network_timeout=60,
    )
    cursor = connection.cursor()
    database = f"TEST_{uuid.uuid4().hex[:12].upper()}"
    try:
        cursor.execute(f"CREATE DATABASE {database}")
        cursor.execute(f"USE DATABASE {database}")
        for statement in SNOWFLAKE.statements(NAMESPACE):
            cursor.execute(statement)
        cursor.execute(f"CREATE STAGE {SNOWFLAKE.qualified(STAGE, NAMESPACE, database)}")
        yield cursor, database
    finally:
        connection.close()


def _run_pipe(
    cursor: Any, database: str, spec: TableSpec, staged: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Stage ``staged`` as an NDJSON file in the table's folder, then run the pipe's COPY (split as
    the module docstring says)."""
    copy = _copy(spec, database)
    parts = _COPY.fullmatch(copy)
    assert parts is not None, copy
    path = tmp_path / f"{spec.name}.json"
    path.write_text("".join(json.dumps(row) + "\n" for row in staged))
    cursor.execute(f"PUT file://{path} {parts['folder']}")
    landing = SNOWFLAKE.qualified(f"landing_{spec.name}", NAMESPACE, database)
    cursor.execute(f"CREATE TABLE {landing} (V VARIANT)")
    cursor.execute(f"COPY INTO {landing} FROM {parts['folder']} FILE_FORMAT = (TYPE = JSON)")
    select = parts["select"].replace("$1:", "V:")
    # Read the SELECT first: a wrong JSON path shows as NULLs here, before NOT NULL refuses them.
    cursor.execute(f"SELECT {select} FROM {landing}")
    extracted = cursor.fetchall()
    assert [row[0] for row in extracted] == [line["event_id"] for line in staged], parts["select"]
    cursor.execute(f"INSERT INTO {parts['table']} ({parts['columns']}) SELECT {select} FROM {landing}")


def test_the_ddl_creates_every_column_with_its_nullability(snowflake: tuple[Any, str]) -> None:
    cursor, database = snowflake
    for spec in TABLES:
        cursor.execute(
            f"SELECT column_name, is_nullable FROM {database}.information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (NAMESPACE, spec.name.upper()),
        )
        assert cursor.fetchall() == [(c.name.upper(), "YES" if c.nullable else "NO") for c in spec.columns]


@pytest.mark.parametrize("category", [str(category) for category in EVENT_TABLES])
def test_the_pipe_copy_loads_staged_rows_into_every_column(
    category: str, snowflake: tuple[Any, str], tmp_path: Path
) -> None:
    cursor, database = snowflake
    spec = EVENT_TABLES[category]  # type: ignore[index]
    bodies = [sample(c, name) for c, name in sorted(PAYLOADS) if c == category]
    _run_pipe(cursor, database, spec, [_staged_row(body, spec) for body in bodies], tmp_path)

    cursor.execute(f"SELECT * FROM {SNOWFLAKE.qualified(spec.name, NAMESPACE, database)} ORDER BY EVENT_NAME")
    stored = [dict(zip(spec.column_names, row, strict=True)) for row in cursor.fetchall()]
    assert len(stored) == len(bodies)
    for row, body in zip(stored, sorted(bodies, key=lambda b: str(b["name"])), strict=True):
        assert row["event_id"] == body["event_id"] and row["event_name"] == body["name"]
        # 10:15+01:00 on the wire is 09:15 UTC; received_at as staged.
        assert row["occurred_at"] == datetime(2026, 11, 25, 9, 15, tzinfo=UTC)
        assert row["received_at"] == datetime(2026, 11, 25, 12, tzinfo=UTC)
        assert (row["source"], row["schema_version"]) == ("api", 1)
        assert (row["actor_type"], row["actor_id"]) == ("customer", "c-1")
        assert json.loads(row["context"]) == {"request_id": "r-1", "ip": "203.0.113.7"}
        assert json.loads(row["payload"]) == PAYLOADS[(category, body["name"])]
        sent = PAYLOADS[(category, body["name"])]
        assert {fact: row[fact] for fact in _facts(spec)} == {fact: sent.get(fact) for fact in _facts(spec)}
