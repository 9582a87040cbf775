"""Dialect renderers: one module per warehouse, the same functions in each.

Every module exposes ``NAME``, ``DEFAULT_NAMESPACE``, ``TYPES`` (logical -> warehouse type),
``quote``, ``qualified``, ``create_namespace``, ``create_table``, ``add_column`` and ``script``;
warehouse-specific extras (BigQuery schema fields, Snowflake column specs and pipe COPY) live
beside them. A reader who knows one module knows all four.
"""

from __future__ import annotations

from types import ModuleType
from typing import Protocol

from schema.dialects import bigquery, duckdb, postgres, snowflake
from schema.tables import Column, TableSpec
from schema.types import LogicalType


class Dialect(Protocol):
    NAME: str
    DEFAULT_NAMESPACE: str
    TYPES: dict[LogicalType, str]

    def qualified(self, table: str, namespace: str) -> str: ...
    def create_namespace(self, namespace: str) -> str: ...
    def create_table(self, spec: TableSpec, namespace: str) -> list[str]: ...
    def add_column(self, table: str, column: Column, namespace: str) -> str: ...
    def script(self, namespace: str, tables: tuple[TableSpec, ...] = ...) -> str: ...


DIALECTS: dict[str, ModuleType] = {module.NAME: module for module in (postgres, duckdb, bigquery, snowflake)}


def dialect(name: str) -> Dialect:
    """The renderer module of a dialect; ValueError names the known ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; expected one of {sorted(DIALECTS)}") from None
