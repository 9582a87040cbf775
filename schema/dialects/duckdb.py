"""DuckDB DDL for the embedded default warehouse.

Only the primary key is declared (it backs ``ON CONFLICT DO NOTHING``); DuckDB's min-max zone maps
already prune on ``occurred_at`` for time-ordered appends, and secondary ART indexes would slow
every insert of an append-only analytics table. Everything else is the ANSI dialect's.
"""

from __future__ import annotations

from typing import ClassVar

from schema.dialects.base import AnsiDialect
from schema.types import LogicalType


class DuckDBDialect(AnsiDialect):
    NAME: ClassVar[str] = "duckdb"
    DEFAULT_NAMESPACE: ClassVar[str] = "main"
    TYPES: ClassVar[dict[LogicalType, str]] = {
        LogicalType.UUID: "UUID",
        LogicalType.TIMESTAMP: "TIMESTAMPTZ",
        LogicalType.TEXT: "VARCHAR",
        LogicalType.INTEGER: "BIGINT",
        LogicalType.FLOAT: "DOUBLE",
        LogicalType.JSON: "JSON",
        LogicalType.BYTES: "BLOB",
    }


DUCKDB = DuckDBDialect()
