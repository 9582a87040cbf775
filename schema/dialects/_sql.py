"""SQL text helpers shared by the dialect modules: what is the same in every dialect lives here."""

from __future__ import annotations

from collections.abc import Callable

from schema.identifiers import double_quoted
from schema.tables import Column, TableSpec
from schema.types import LogicalType


def string_literal(text: str) -> str:
    """ANSI string literal (Postgres with standard_conforming_strings): quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def backslash_string_literal(text: str) -> str:
    """String literal for dialects where backslash escapes (BigQuery, Snowflake)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ansi_qualified(table: str, namespace: str) -> str:
    """``"namespace"."table"`` (Postgres, DuckDB)."""
    return f"{double_quoted(namespace, 'schema')}.{double_quoted(table, 'table')}"


def ansi_column(column: Column, types: dict[LogicalType, str]) -> str:
    """``"name" type [NOT NULL]`` (Postgres, DuckDB)."""
    null = "" if column.nullable else " NOT NULL"
    return f"{double_quoted(column.name, 'column')} {types[column.type]}{null}"


def build_script(
    create_namespace: Callable[[str], str],
    create_table: Callable[[TableSpec, str], list[str]],
    namespace: str,
    tables: tuple[TableSpec, ...],
) -> str:
    """The namespace, then every table's statements, each terminated by ``;``."""
    statements = [create_namespace(namespace)]
    for spec in tables:
        statements.extend(create_table(spec, namespace))
    return "".join(f"{statement};\n" for statement in statements)
