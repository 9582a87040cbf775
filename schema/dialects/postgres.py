"""Postgres DDL: tables with a primary key on the dedup key, btree indexes on fact columns and a
BRIN index on the partition column.

Tables are not declaratively partitioned: a partitioned table's primary key must include the
partition column, and the primary key must be ``event_id`` alone for idempotent writes to hold
across days. Events arrive roughly in time order, so BRIN on ``occurred_at`` gives most of the
pruning at a fraction of a btree's size.
"""

from __future__ import annotations

from schema.dialects._sql import ansi_column, ansi_qualified, build_script, string_literal
from schema.identifiers import double_quoted, identifier
from schema.tables import TABLES, Column, TableSpec
from schema.types import LogicalType

NAME = "postgres"
DEFAULT_NAMESPACE = "analytics"

TYPES: dict[LogicalType, str] = {
    LogicalType.UUID: "uuid",
    LogicalType.TIMESTAMP: "timestamptz",
    LogicalType.TEXT: "text",
    LogicalType.INTEGER: "bigint",
    LogicalType.FLOAT: "double precision",
    LogicalType.JSON: "jsonb",
    LogicalType.BYTES: "bytea",
}


def quote(name: str) -> str:
    return double_quoted(name)


def qualified(table: str, namespace: str) -> str:
    return ansi_qualified(table, namespace)


def column_definition(column: Column) -> str:
    return ansi_column(column, TYPES)


def index_name(table: str, column: str, kind: str = "idx") -> str:
    return identifier(f"{table}_{column}_{kind}", "index")


def create_namespace(namespace: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {double_quoted(namespace, 'schema')}"


def create_table(spec: TableSpec, namespace: str) -> list[str]:
    """CREATE TABLE, its indexes and comments; every statement is idempotent."""
    table = qualified(spec.name, namespace)
    body = [column_definition(column) for column in spec.columns]
    body.append(f"PRIMARY KEY ({', '.join(double_quoted(c) for c in spec.primary_key)})")
    statements = [f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(body) + "\n)"]
    statements.append(
        f"CREATE INDEX IF NOT EXISTS {double_quoted(index_name(spec.name, spec.partition_by, 'brin'))} "
        f"ON {table} USING brin ({double_quoted(spec.partition_by)})"
    )
    statements.extend(
        f"CREATE INDEX IF NOT EXISTS {double_quoted(index_name(spec.name, column))} "
        f"ON {table} ({double_quoted(column)})"
        for column in spec.indexes
    )
    if spec.description:
        statements.append(f"COMMENT ON TABLE {table} IS {string_literal(spec.description)}")
    statements.extend(
        f"COMMENT ON COLUMN {table}.{double_quoted(column.name)} IS {string_literal(column.description)}"
        for column in spec.columns
        if column.description
    )
    return statements


def add_column(table: str, column: Column, namespace: str) -> str:
    return f"ALTER TABLE {qualified(table, namespace)} ADD COLUMN IF NOT EXISTS {column_definition(column)}"


def script(namespace: str = DEFAULT_NAMESPACE, tables: tuple[TableSpec, ...] = TABLES) -> str:
    return build_script(create_namespace, create_table, namespace, tables)
