"""Snowflake DDL, column specs for the Pulumi provider, and the pipe's COPY statement.

Identifiers are rendered upper-case and quoted: a quoted upper-case name is the same object as the
unquoted name, so analysts can write ``select event_id`` while the renderer still quotes
everything it emits. JSON paths are the opposite: ``$1:event_id`` is case-sensitive, so the
COPY reads the staged rows' keys exactly as the schema module spells the columns (lower case).
"""

from __future__ import annotations

from typing import Any, ClassVar

from schema.dialects._sql import backslash_string_literal as string_literal
from schema.dialects.base import Dialect
from schema.identifiers import double_quoted
from schema.tables import Column, TableSpec
from schema.types import LogicalType


def name(identifier_: str) -> str:
    """The Snowflake object name of a schema-module identifier (upper case, unquoted)."""
    return identifier_.upper()


class SnowflakeDialect(Dialect):
    NAME: ClassVar[str] = "snowflake"
    DEFAULT_NAMESPACE: ClassVar[str] = "ANALYTICS"
    # The internal stage files are landed in (the former provisioning script's SNOWFLAKE_STAGE default).
    DEFAULT_STAGE: ClassVar[str] = "kafka_stage"
    TYPES: ClassVar[dict[LogicalType, str]] = {
        LogicalType.UUID: "VARCHAR(36)",
        LogicalType.TIMESTAMP: "TIMESTAMP_TZ",
        LogicalType.TEXT: "VARCHAR",
        LogicalType.INTEGER: "NUMBER(38,0)",
        LogicalType.FLOAT: "FLOAT",
        LogicalType.JSON: "VARIANT",
        LogicalType.BYTES: "BINARY",
    }

    def name(self, identifier_: str) -> str:
        return name(identifier_)

    def quote(self, identifier_: str, kind: str = "identifier") -> str:
        return double_quoted(name(identifier_), kind)

    def qualified(self, table: str, namespace: str, database: str | None = None) -> str:
        """``"SCHEMA"."TABLE"``, or ``"DATABASE"."SCHEMA"."TABLE"`` when the database is given."""
        prefix = f"{self.quote(database, 'database')}." if database else ""
        return f"{prefix}{self.quote(namespace, 'schema')}.{self.quote(table, 'table')}"

    def cluster_keys(self, spec: TableSpec) -> list[str]:
        """CLUSTER BY expressions: the day of the partition column, then the fact columns."""
        return [f"TO_DATE({self.quote(spec.partition_by)})", *(self.quote(c) for c in spec.cluster_by)]

    def column_definition(self, column: Column) -> str:
        null = "" if column.nullable else " NOT NULL"
        comment = f" COMMENT {string_literal(column.description)}" if column.description else ""
        return f"{self.quote(column.name, 'column')} {self.type_of(column.type)}{null}{comment}"

    def column_specs(self, spec: TableSpec) -> list[dict[str, Any]]:
        """Columns as the Pulumi provider's ``Table(columns=[...])`` takes them."""
        return [
            {
                "name": name(column.name),
                "type": self.type_of(column.type),
                "nullable": column.nullable,
                "comment": column.description,
            }
            for column in spec.columns
        ]

    def create_namespace(self, namespace: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(namespace, 'schema')}"

    def create_table(self, spec: TableSpec, namespace: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.qualified(spec.name, namespace)} {self.keyed_body(spec)}\n"
            f"CLUSTER BY ({', '.join(self.cluster_keys(spec))})\n"
            f"COMMENT = {string_literal(spec.description)}"
        ]

    def file_format_name(self, stage: str) -> str:
        """The JSON file format that goes with ``stage`` (the pipes read the stage's files with it)."""
        return f"{stage}_json"

    def create_stage(self, stage: str, namespace: str) -> str:
        return f"CREATE STAGE IF NOT EXISTS {self.qualified(stage, namespace)}"

    def create_file_format(self, stage: str, namespace: str) -> str:
        return (
            f"CREATE FILE FORMAT IF NOT EXISTS {self.qualified(self.file_format_name(stage), namespace)} "
            "TYPE = JSON COMPRESSION = AUTO"
        )

    def staged_value(self, column: Column, row: str = "$1") -> str:
        """The value of ``column`` read from a staged NDJSON row (a VARIANT ``row``), typed.

        Staged rows are objects keyed by column name; bytes travel base64-encoded, because JSON
        text cannot carry bytes that are not UTF-8 (a dead letter's raw body)."""
        path = f"{row}:{column.name}"
        if column.type is LogicalType.BYTES:
            return f"TO_BINARY({path}::VARCHAR, 'BASE64')"
        return f"{path}::{self.type_of(column.type)}"

    def stage_path(self, spec: TableSpec) -> str:
        """Where files for ``spec`` land in the stage: one folder per table."""
        return spec.name

    def copy_into(
        self, spec: TableSpec, namespace: str, stage: str, file_format: str, database: str | None = None
    ) -> str:
        """The COPY a pipe runs: staged NDJSON rows (one object per row, keys = the schema module's
        column names, lower case) into the table, each column cast from the JSON value of the same
        name. Names are fully qualified when ``database`` is given, so the pipe does not depend on
        the creating user's namespace."""
        columns = ", ".join(self.quote(column.name) for column in spec.columns)
        selects = ", ".join(self.staged_value(column) for column in spec.columns)
        folder = f"@{self.qualified(stage, namespace, database)}/{self.stage_path(spec)}/"
        return (
            f"COPY INTO {self.qualified(spec.name, namespace, database)} ({columns}) "
            f"FROM (SELECT {selects} FROM {folder}) "
            f"FILE_FORMAT = (FORMAT_NAME = {self.qualified(file_format, namespace, database)})"
        )


SNOWFLAKE = SnowflakeDialect()
