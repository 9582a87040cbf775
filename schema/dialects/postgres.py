"""Postgres DDL: tables with a primary key on the dedup key, btree indexes on fact columns and a
BRIN index on the partition column.

Tables are not declaratively partitioned: a partitioned table's primary key must include the
partition column, and the primary key must be ``event_id`` alone for idempotent writes to hold
across days. Events arrive roughly in time order, so BRIN on ``occurred_at`` gives most of the
pruning at a fraction of a btree's size.
"""

from __future__ import annotations

from typing import ClassVar

from schema.dialects._sql import string_literal
from schema.dialects.base import AnsiDialect
from schema.identifiers import double_quoted, identifier
from schema.tables import TableSpec
from schema.types import LogicalType


class PostgresDialect(AnsiDialect):
    NAME: ClassVar[str] = "postgres"
    DEFAULT_NAMESPACE: ClassVar[str] = "analytics"
    TYPES: ClassVar[dict[LogicalType, str]] = {
        LogicalType.UUID: "uuid",
        LogicalType.TIMESTAMP: "timestamptz",
        LogicalType.TEXT: "text",
        LogicalType.INTEGER: "bigint",
        LogicalType.FLOAT: "double precision",
        LogicalType.JSON: "jsonb",
        LogicalType.BYTES: "bytea",
    }

    @staticmethod
    def index_name(table: str, column: str, kind: str = "idx") -> str:
        return identifier(f"{table}_{column}_{kind}", "index")

    def create_table(self, spec: TableSpec, namespace: str) -> list[str]:
        """CREATE TABLE, its indexes and comments; every statement is idempotent."""
        table = self.qualified(spec.name, namespace)
        statements = super().create_table(spec, namespace)
        brin = double_quoted(self.index_name(spec.name, spec.partition_by, "brin"))
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {brin} ON {table} USING brin ({double_quoted(spec.partition_by)})"
        )
        statements.extend(
            f"CREATE INDEX IF NOT EXISTS {double_quoted(self.index_name(spec.name, column))} "
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


POSTGRES = PostgresDialect()
