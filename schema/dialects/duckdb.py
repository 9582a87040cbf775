"""DuckDB DDL for the embedded default warehouse.

Only the primary key is declared (it backs ``ON CONFLICT DO NOTHING``); DuckDB's min-max zone maps
already prune on ``occurred_at`` for time-ordered appends, and secondary ART indexes would slow
every insert of an append-only analytics table.
"""

from __future__ import annotations

from schema.dialects._sql import ansi_column, ansi_qualified, build_script
from schema.identifiers import double_quoted
from schema.tables import TABLES, Column, TableSpec
from schema.types import LogicalType

NAME = "duckdb"
DEFAULT_NAMESPACE = "main"

TYPES: dict[LogicalType, str] = {
    LogicalType.UUID: "UUID",
    LogicalType.TIMESTAMP: "TIMESTAMPTZ",
    LogicalType.TEXT: "VARCHAR",
    LogicalType.INTEGER: "BIGINT",
    LogicalType.FLOAT: "DOUBLE",
    LogicalType.JSON: "JSON",
    LogicalType.BYTES: "BLOB",
}


def quote(name: str) -> str:
    return double_quoted(name)


def qualified(table: str, namespace: str) -> str:
    return ansi_qualified(table, namespace)


def column_definition(column: Column) -> str:
    return ansi_column(column, TYPES)


def create_namespace(namespace: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {double_quoted(namespace, 'schema')}"


def create_table(spec: TableSpec, namespace: str) -> list[str]:
    body = [column_definition(column) for column in spec.columns]
    body.append(f"PRIMARY KEY ({', '.join(double_quoted(c) for c in spec.primary_key)})")
    return [
        f"CREATE TABLE IF NOT EXISTS {qualified(spec.name, namespace)} (\n  " + ",\n  ".join(body) + "\n)"
    ]


def add_column(table: str, column: Column, namespace: str) -> str:
    return f"ALTER TABLE {qualified(table, namespace)} ADD COLUMN IF NOT EXISTS {column_definition(column)}"


def script(namespace: str = DEFAULT_NAMESPACE, tables: tuple[TableSpec, ...] = TABLES) -> str:
    return build_script(create_namespace, create_table, namespace, tables)
