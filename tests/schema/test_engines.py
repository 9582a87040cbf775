"""The rendered DDL on real engines: Postgres (local server), DuckDB, and BigQuery's schema JSON
parsed by google-cloud-bigquery's own SchemaField (no BigQuery runs here). Snowflake's DDL runs on
fakesnow's server in test_snowflake_pipes.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
import psycopg
from psycopg.types.json import Jsonb

from schema import DEAD_LETTER_TABLE, TABLES, event_row, parse_event, table_for
from schema.dialects import BIGQUERY as bigquery
from schema.dialects import DUCKDB as duckdb_dialect
from schema.dialects import POSTGRES as postgres
from schema.rows import dead_letter_row
from schema.tables import DeadLetterRecord
from tests.schema.events import PAYLOADS, raw, sample

RECEIVED = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _postgres_row(values: tuple[Any, ...], spec_name: str) -> list[Any]:
    spec = next(s for s in TABLES if s.name == spec_name)
    return [
        Jsonb(json.loads(v)) if c.type == "json" and v is not None else v
        for c, v in zip(spec.columns, values, strict=True)
    ]


def test_postgres_ddl_applies_and_round_trips(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(postgres.script())
        conn.execute(postgres.script())  # idempotent
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'analytics' order by 1"
        ).fetchall()
        assert sorted(name for (name,) in tables) == sorted(spec.name for spec in TABLES)
        for spec in TABLES:
            columns = conn.execute(
                "select column_name, is_nullable from information_schema.columns "
                "where table_schema = 'analytics' and table_name = %s order by ordinal_position",
                (spec.name,),
            ).fetchall()
            assert columns == [(c.name, "YES" if c.nullable else "NO") for c in spec.columns]
        for category, name in PAYLOADS:
            spec = table_for(category)
            event = parse_event(raw(sample(category, name)))
            placeholders = ", ".join(["%s"] * len(spec.columns))
            conn.execute(
                f"insert into {postgres.qualified(spec.name, 'analytics')} values ({placeholders})",
                _postgres_row(event_row(event, RECEIVED), spec.name),
            )
            stored = conn.execute(
                f"select occurred_at, payload, context from {postgres.qualified(spec.name, 'analytics')} "
                "where event_id = %s",
                (event.event_id,),
            ).fetchone()
            assert stored is not None
            assert stored[0] == event.occurred_at
            assert stored[1] == PAYLOADS[(category, name)]
            assert stored[2] == {"request_id": "r-1", "ip": "203.0.113.7"}
        record = DeadLetterRecord(
            dead_letter_id="00000000-0000-4000-8000-000000000001",
            received_at=RECEIVED,
            origin="http",
            error_rule="json_invalid",
            error="body is not valid JSON",
            raw_body=b"\xff\xfe\x00 not utf-8",
        )
        conn.execute(
            f"insert into {postgres.qualified(DEAD_LETTER_TABLE.name, 'analytics')} values "
            f"({', '.join(['%s'] * len(DEAD_LETTER_TABLE.columns))})",
            dead_letter_row(record),
        )
        kept = conn.execute(f"select raw_body from {postgres.qualified(DEAD_LETTER_TABLE.name, 'analytics')}")
        assert kept.fetchone() == (b"\xff\xfe\x00 not utf-8",)


def test_duckdb_ddl_applies_and_round_trips() -> None:
    conn = duckdb.connect(":memory:")
    conn.execute(duckdb_dialect.script())
    conn.execute(duckdb_dialect.script())
    for category, name in PAYLOADS:
        spec = table_for(category)
        event = parse_event(raw(sample(category, name)))
        placeholders = ", ".join(["?"] * len(spec.columns))
        conn.execute(
            f"insert into {duckdb_dialect.qualified(spec.name, 'main')} values ({placeholders})",
            list(event_row(event, RECEIVED)),
        )
        stored = conn.execute(
            f"select event_id, occurred_at, payload from {duckdb_dialect.qualified(spec.name, 'main')} "
            "where event_id = ?",
            [event.event_id],
        ).fetchone()
        assert stored is not None
        assert stored[0] == event.event_id and stored[1] == event.occurred_at
        assert json.loads(stored[2]) == PAYLOADS[(category, name)]
    columns = conn.execute(
        "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
        [DEAD_LETTER_TABLE.name],
    ).fetchall()
    assert [c for (c,) in columns] == list(DEAD_LETTER_TABLE.column_names)


def test_bigquery_schema_parses_with_the_official_client() -> None:
    """The exact JSON is golden (tests/schema/golden/bigquery_tables.json); here the official
    client must read every field back with the name, type and mode it was given."""
    from google.cloud.bigquery import SchemaField

    document = json.loads(bigquery.schema_json("laundry_analytics"))
    assert list(document["tables"]) == [spec.name for spec in TABLES]
    for spec in TABLES:
        resource = document["tables"][spec.name]
        fields = [SchemaField.from_api_repr(field) for field in resource["schema"]["fields"]]
        assert [(f.name, f.field_type, f.mode) for f in fields] == [
            (c.name, bigquery.type_of(c.type), "NULLABLE" if c.nullable else "REQUIRED") for c in spec.columns
        ]
