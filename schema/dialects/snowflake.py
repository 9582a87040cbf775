"""Snowflake DDL, column specs for the Pulumi provider, and the pipe's COPY statement.

Identifiers are rendered upper-case and quoted: a quoted upper-case name is the same object as the
unquoted name, so analysts can write ``select event_id`` while the renderer still quotes
everything it emits.
"""

from __future__ import annotations

from typing import Any

from schema.dialects._sql import backslash_string_literal as string_literal
from schema.dialects._sql import build_script
from schema.identifiers import double_quoted
from schema.tables import TABLES, Column, TableSpec
from schema.types import LogicalType

NAME = "snowflake"
DEFAULT_NAMESPACE = "ANALYTICS"

TYPES: dict[LogicalType, str] = {
    LogicalType.UUID: "VARCHAR(36)",
    LogicalType.TIMESTAMP: "TIMESTAMP_TZ",
    LogicalType.TEXT: "VARCHAR",
    LogicalType.INTEGER: "NUMBER(38,0)",
    LogicalType.FLOAT: "FLOAT",
    LogicalType.JSON: "VARIANT",
    LogicalType.BYTES: "BINARY",
}


def name(identifier_: str) -> str:
    """The Snowflake object name of a schema-module identifier (upper case, unquoted)."""
    return identifier_.upper()


def quote(identifier_: str, kind: str = "identifier") -> str:
    return double_quoted(name(identifier_), kind)


def qualified(table: str, namespace: str, database: str | None = None) -> str:
    """``"SCHEMA"."TABLE"``, or ``"DATABASE"."SCHEMA"."TABLE"`` when the database is given."""
    prefix = f"{quote(database, 'database')}." if database else ""
    return f"{prefix}{quote(namespace, 'schema')}.{quote(table, 'table')}"


def cluster_keys(spec: TableSpec) -> list[str]:
    """CLUSTER BY expressions: the day of the partition column, then the fact columns."""
    return [f"TO_DATE({quote(spec.partition_by)})", *(quote(column) for column in spec.cluster_by)]


def column_definition(column: Column) -> str:
    null = "" if column.nullable else " NOT NULL"
    comment = f" COMMENT {string_literal(column.description)}" if column.description else ""
    return f"{quote(column.name, 'column')} {TYPES[column.type]}{null}{comment}"


def column_specs(spec: TableSpec) -> list[dict[str, Any]]:
    """Columns as the Pulumi provider's ``Table(columns=[...])`` takes them."""
    return [
        {
            "name": name(column.name),
            "type": TYPES[column.type],
            "nullable": column.nullable,
            "comment": column.description,
        }
        for column in spec.columns
    ]


def create_namespace(namespace: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {quote(namespace, 'schema')}"


def create_table(spec: TableSpec, namespace: str) -> list[str]:
    body = [column_definition(column) for column in spec.columns]
    body.append(f"PRIMARY KEY ({', '.join(quote(c) for c in spec.primary_key)})")
    return [
        f"CREATE TABLE IF NOT EXISTS {qualified(spec.name, namespace)} (\n  "
        + ",\n  ".join(body)
        + f"\n)\nCLUSTER BY ({', '.join(cluster_keys(spec))})\nCOMMENT = {string_literal(spec.description)}"
    ]


def add_column(table: str, column: Column, namespace: str) -> str:
    return f"ALTER TABLE {qualified(table, namespace)} ADD COLUMN IF NOT EXISTS {column_definition(column)}"


def stage_path(spec: TableSpec) -> str:
    """Where files for ``spec`` land in the stage: one folder per table."""
    return spec.name


def copy_into(
    spec: TableSpec, namespace: str, stage: str, file_format: str, database: str | None = None
) -> str:
    """The COPY a pipe runs: staged NDJSON rows (one object per row, keys = column names) into
    the table, each column cast from the JSON value of the same name. Names are fully qualified
    when ``database`` is given, so the pipe does not depend on the creating user's namespace."""
    columns = ", ".join(quote(column.name) for column in spec.columns)
    selects = ", ".join(f"$1:{column.name}::{TYPES[column.type]}" for column in spec.columns)
    return (
        f"COPY INTO {qualified(spec.name, namespace, database)} ({columns}) "
        f"FROM (SELECT {selects} FROM @{qualified(stage, namespace, database)}/{stage_path(spec)}/) "
        f"FILE_FORMAT = (FORMAT_NAME = {qualified(file_format, namespace, database)})"
    )


def script(namespace: str = DEFAULT_NAMESPACE, tables: tuple[TableSpec, ...] = TABLES) -> str:
    return build_script(create_namespace, create_table, namespace, tables)
