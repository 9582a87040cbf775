"""The dialect interface, and what the ANSI dialects (Postgres, DuckDB) share.

A dialect is an object: ``schema.dialects.POSTGRES`` and its peers are instances of the classes
here, so mypy checks every call site against one interface. Each warehouse's class says only what
differs in it; the namespace-then-tables script is written once, in ``Dialect.statements``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

from schema.identifiers import double_quoted
from schema.tables import TABLES, Column, TableSpec
from schema.types import LogicalType


class UnknownLogicalTypeError(TypeError):
    """A column whose logical type the dialect has no warehouse type for."""


class Dialect(ABC):
    """One warehouse's SQL: its types, quoting, and the DDL of namespaces, tables and new columns."""

    NAME: ClassVar[str]
    DEFAULT_NAMESPACE: ClassVar[str]
    TYPES: ClassVar[Mapping[LogicalType, str]]

    def type_of(self, logical: LogicalType) -> str:
        """The warehouse type of ``logical``; a type the dialect does not map is an error, never a guess."""
        try:
            return self.TYPES[logical]
        except KeyError:
            raise UnknownLogicalTypeError(
                f"dialect {self.NAME} has no type for logical type {logical!r}; "
                f"it maps {sorted(str(known) for known in self.TYPES)}"
            ) from None

    @abstractmethod
    def quote(self, name: str) -> str:
        """A validated, quoted identifier."""

    @abstractmethod
    def qualified(self, table: str, namespace: str) -> str:
        """The table's name qualified by its namespace, quoted."""

    @abstractmethod
    def column_definition(self, column: Column) -> str:
        """``name type [NOT NULL] [comment]`` as CREATE TABLE and ADD COLUMN take it."""

    @abstractmethod
    def create_namespace(self, namespace: str) -> str:
        """Idempotent CREATE of the schema / dataset."""

    @abstractmethod
    def create_table(self, spec: TableSpec, namespace: str) -> list[str]:
        """Idempotent statements that create the table (and, where the dialect has them, its extras)."""

    def keyed_body(self, spec: TableSpec) -> str:
        """CREATE TABLE's parenthesised part: one column per line, then the primary key."""
        body = [self.column_definition(column) for column in spec.columns]
        body.append(f"PRIMARY KEY ({', '.join(self.quote(c) for c in spec.primary_key)})")
        return "(\n  " + ",\n  ".join(body) + "\n)"

    def add_column(self, table: str, column: Column, namespace: str) -> str:
        """The in-place statement of an additive change: a new nullable column."""
        return (
            f"ALTER TABLE {self.qualified(table, namespace)} "
            f"ADD COLUMN IF NOT EXISTS {self.column_definition(column)}"
        )

    def statements(self, namespace: str | None = None, tables: tuple[TableSpec, ...] = TABLES) -> list[str]:
        """The namespace, then every table's statements: what provisioning runs, in order."""
        target = namespace or self.DEFAULT_NAMESPACE
        statements = [self.create_namespace(target)]
        for spec in tables:
            statements.extend(self.create_table(spec, target))
        return statements

    def script(self, namespace: str | None = None, tables: tuple[TableSpec, ...] = TABLES) -> str:
        """``statements`` as one SQL text, each statement terminated by ``;``."""
        return "".join(f"{statement};\n" for statement in self.statements(namespace, tables))


class AnsiDialect(Dialect):
    """Double-quoted identifiers, ``"schema"."table"``, and a primary key in the CREATE TABLE."""

    def quote(self, name: str) -> str:
        return double_quoted(name)

    def qualified(self, table: str, namespace: str) -> str:
        return f"{double_quoted(namespace, 'schema')}.{double_quoted(table, 'table')}"

    def column_definition(self, column: Column) -> str:
        null = "" if column.nullable else " NOT NULL"
        return f"{double_quoted(column.name, 'column')} {self.type_of(column.type)}{null}"

    def create_namespace(self, namespace: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {double_quoted(namespace, 'schema')}"

    def create_table(self, spec: TableSpec, namespace: str) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS {self.qualified(spec.name, namespace)} {self.keyed_body(spec)}"]
