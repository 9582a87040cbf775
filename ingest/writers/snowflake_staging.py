"""Rows as a staged NDJSON file, and the MERGE that reads them back: the Snowflake writer's format.

One file per batch holds the rows of every table, each tagged with its table, so a batch costs
one PUT and one COPY whatever the number of tables. The keys are column names, the format the
pipes' COPY (``dialect.copy_into``) reads too; both decode values with ``dialect.staged_value``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pydantic_core

from ingest.writers.base import Row
from schema import TableSpec
from schema.dialects import SNOWFLAKE as dialect
from schema.dialects._sql import backslash_string_literal
from schema.types import LogicalType

LANDING_TABLE = "_ingest_landing"
# The key naming each staged row's table; column names never start with "_ingest".
TABLE_KEY = "_ingest_table"
STAGE_FOLDER = "ingest"

Encoder = Callable[[Row], bytes]


def encoder(spec: TableSpec) -> Encoder:
    """NDJSON line of a row: keys are column names, NULLs left out, JSON columns embedded as they
    are (they arrive as JSON text), bytes base64 (what ``dialect.staged_value`` decodes)."""
    names = spec.column_names
    json_columns = [i for i, column in enumerate(spec.columns) if column.type is LogicalType.JSON]
    byte_columns = {i for i, column in enumerate(spec.columns) if column.type is LogicalType.BYTES}
    plain = [i for i in range(len(names)) if i not in json_columns]
    keys = [f',"{names[i]}":'.encode() for i in range(len(names))]

    def encode(row: Row) -> bytes:
        values: dict[str, Any] = {TABLE_KEY: spec.name}
        for i in plain:
            value = row[i]
            if value is not None:
                values[names[i]] = base64.b64encode(value).decode() if i in byte_columns else value
        parts = [pydantic_core.to_json(values)[:-1]]
        for i in json_columns:
            value = row[i]
            if value is not None:
                parts += (keys[i], value.encode() if isinstance(value, str) else pydantic_core.to_json(value))
        parts.append(b"}\n")
        return b"".join(parts)

    return encode


def merge_statement(spec: TableSpec, namespace: str) -> str:
    """MERGE of the landing rows tagged for ``spec`` into its table, inserting unseen keys only."""
    columns = [dialect.quote(name) for name in spec.column_names]
    projection = ", ".join(
        f"{dialect.staged_value(column, 'V')} AS {quoted}"
        for column, quoted in zip(spec.columns, columns, strict=True)
    )
    on = " AND ".join(f"T.{dialect.quote(key)} = S.{dialect.quote(key)}" for key in spec.primary_key)
    return (
        f"MERGE INTO {dialect.qualified(spec.name, namespace)} AS T USING (SELECT {projection} "
        f"FROM {dialect.quote(LANDING_TABLE)} "
        f"WHERE V:{TABLE_KEY}::VARCHAR = {backslash_string_literal(spec.name)}) AS S ON {on} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'S.{quoted}' for quoted in columns)})"
    )


def first_per_key(spec: TableSpec, rows: Sequence[Row]) -> list[Row]:
    """The rows with duplicate keys dropped, first wins: a MERGE would insert every duplicate of
    a key that is not in the table yet."""
    positions = [spec.column_names.index(name) for name in spec.primary_key]
    unique: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        unique.setdefault(tuple(row[i] for i in positions), row)
    return list(unique.values())


def batch_folder() -> str:
    """A stage folder no other batch uses; dated, so files a crash left behind are easy to find."""
    return f"{STAGE_FOLDER}/{datetime.now(UTC):%Y-%m-%d}/{uuid.uuid4().hex}"
