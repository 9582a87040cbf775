"""The staging table's rows and the MERGE that reads them back: the BigQuery writer's SQL.

Kept apart from the writer (which talks to the API) because it is pure: the NDJSON a load job
reads, the staging table's schema, and the MERGE statement depend only on the schema module and
the rows, so tests and benchmarks use them without a client.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any

from ingest.writers.base import Row
from schema import DEAD_LETTER_TABLE, TableSpec
from schema.dialects import BIGQUERY as dialect
from schema.tables import Column
from schema.types import LogicalType


def _quote_json(text: str) -> str:
    return json.dumps(text)


def _encoder(column: Column) -> Callable[[Any], str]:
    """The NDJSON fragment of one value of ``column`` as the staging table's load job reads it."""
    kind = column.type
    if kind is LogicalType.JSON:
        return lambda value: value if isinstance(value, str) else json.dumps(value)
    if kind is LogicalType.BYTES:
        return lambda value: _quote_json(base64.b64encode(value).decode("ascii"))
    if kind is LogicalType.TIMESTAMP:
        return lambda value: _quote_json(value.astimezone(UTC).isoformat(sep=" "))
    if kind is LogicalType.UUID:
        return lambda value: _quote_json(str(value))
    return json.dumps


def ndjson(spec: TableSpec, rows: Sequence[Row]) -> bytes:
    """The rows as newline-delimited JSON (JSON columns are already JSON text in the rows)."""
    encoders = [(f'"{column.name}":', _encoder(column)) for column in spec.columns]
    lines = []
    for row in rows:
        fields = [
            prefix + ("null" if value is None else encode(value))
            for (prefix, encode), value in zip(encoders, row, strict=True)
        ]
        lines.append("{" + ",".join(fields) + "}")
    return "\n".join(lines).encode("utf-8")


def staging_fields(spec: TableSpec) -> list[dict[str, Any]]:
    """The table's schema fields, BYTES staged as base64 STRING and every field NULLABLE.

    BigQuery's load job decodes base64 into BYTES but the stand-in stores the text as is; staging
    the text and decoding in the MERGE is exact on both. REQUIRED is checked by the table itself.
    """
    fields = []
    for field in dialect.schema_fields(spec):
        staged = {**field, "mode": "NULLABLE"}
        if field["type"] == dialect.TYPES[LogicalType.BYTES]:
            staged["type"] = dialect.TYPES[LogicalType.TEXT]
        fields.append(staged)
    return fields


def _prunable(spec: TableSpec) -> bool:
    """Whether a redelivery carries the same partition value: not for dead letters, whose
    partition column is the time the service received that delivery."""
    return spec is not DEAD_LETTER_TABLE


def merge_statement(spec: TableSpec, namespace: str, staging: str, rows: Sequence[Row]) -> str:
    """MERGE the staging table into the table on its primary key, new keys only."""
    columns = ", ".join(dialect.quote(name) for name in spec.column_names)
    select = ", ".join(
        f"FROM_BASE64({dialect.quote(c.name)}) AS {dialect.quote(c.name)}"
        if c.type is LogicalType.BYTES
        else dialect.quote(c.name)
        for c in spec.columns
    )
    key = ", ".join(dialect.quote(name) for name in spec.primary_key)
    match = [f"T.{dialect.quote(name)} = S.{dialect.quote(name)}" for name in spec.primary_key]
    if _prunable(spec):
        position = spec.column_names.index(spec.partition_by)
        instants = [row[position] for row in rows]
        low, high = (min(instants).astimezone(UTC), max(instants).astimezone(UTC))
        match.append(
            f"T.{dialect.quote(spec.partition_by)} BETWEEN TIMESTAMP '{low.isoformat(sep=' ')}' "
            f"AND TIMESTAMP '{high.isoformat(sep=' ')}'"
        )
    values = ", ".join(f"S.{dialect.quote(name)}" for name in spec.column_names)
    return (
        f"MERGE {dialect.qualified(spec.name, namespace)} AS T\n"
        f"USING (SELECT {select} FROM {dialect.qualified(staging, namespace)} WHERE TRUE\n"
        f"  QUALIFY ROW_NUMBER() OVER (PARTITION BY {key}) = 1) AS S\n"
        f"ON {' AND '.join(match)}\n"
        f"WHEN NOT MATCHED THEN INSERT ({columns}) VALUES ({values})"
    )
