"""BigQuery: the table schema as the API's JSON (fields with modes and descriptions), DAY
partitioning on ``occurred_at``, clustering, and the equivalent DDL.

The schema JSON is what ``bigquery.Table(schema=...)`` in the Pulumi program and
``google.cloud.bigquery.SchemaField.from_api_repr`` take, so both read the same value.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from schema.dialects._sql import backslash_string_literal as string_literal
from schema.dialects.base import Dialect
from schema.identifiers import identifier
from schema.tables import TABLES, Column, TableSpec
from schema.types import LogicalType


class BigQueryDialect(Dialect):
    NAME: ClassVar[str] = "bigquery"
    MAX_CLUSTERING_FIELDS: ClassVar[int] = 4
    DEFAULT_NAMESPACE: ClassVar[str] = "laundry_analytics"
    TYPES: ClassVar[dict[LogicalType, str]] = {
        LogicalType.UUID: "STRING",
        LogicalType.TIMESTAMP: "TIMESTAMP",
        LogicalType.TEXT: "STRING",
        LogicalType.INTEGER: "INT64",
        LogicalType.FLOAT: "FLOAT64",
        LogicalType.JSON: "JSON",
        LogicalType.BYTES: "BYTES",
    }

    def quote(self, name: str) -> str:
        return f"`{identifier(name, 'column')}`"

    def qualified(self, table: str, namespace: str) -> str:
        """``dataset.table`` in backticks; the project comes from the client or provider."""
        return f"`{identifier(namespace, 'dataset')}.{identifier(table, 'table')}`"

    def schema_field(self, column: Column) -> dict[str, Any]:
        field: dict[str, Any] = {
            "name": identifier(column.name, "column"),
            "type": self.type_of(column.type),
            "mode": "NULLABLE" if column.nullable else "REQUIRED",
        }
        if column.description:
            field["description"] = column.description
        return field

    def schema_fields(self, spec: TableSpec) -> list[dict[str, Any]]:
        return [self.schema_field(column) for column in spec.columns]

    def time_partitioning(self, spec: TableSpec) -> dict[str, str]:
        return {"type": "DAY", "field": spec.partition_by}

    def clustering(self, spec: TableSpec) -> list[str]:
        if len(spec.cluster_by) > self.MAX_CLUSTERING_FIELDS:
            raise ValueError(
                f"table {spec.name}: BigQuery clusters on at most {self.MAX_CLUSTERING_FIELDS} columns"
            )
        return list(spec.cluster_by)

    def table_resource(self, spec: TableSpec) -> dict[str, Any]:
        """The parts of a BigQuery table resource the schema module decides."""
        return {
            "description": spec.description,
            "schema": {"fields": self.schema_fields(spec)},
            "timePartitioning": self.time_partitioning(spec),
            "clustering": {"fields": self.clustering(spec)},
        }

    def schema_json(self, namespace: str | None = None, tables: tuple[TableSpec, ...] = TABLES) -> str:
        """All tables' resources, keyed by table name: what ``ddl --dialect bigquery`` prints."""
        dataset = identifier(namespace or self.DEFAULT_NAMESPACE, "dataset")
        document = {"dataset": dataset, "tables": {spec.name: self.table_resource(spec) for spec in tables}}
        return json.dumps(document, indent=2) + "\n"

    def column_definition(self, column: Column) -> str:
        null = "" if column.nullable else " NOT NULL"
        options = f" OPTIONS(description={string_literal(column.description)})" if column.description else ""
        return f"{self.quote(column.name)} {self.type_of(column.type)}{null}{options}"

    def create_namespace(self, namespace: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS `{identifier(namespace, 'dataset')}`"

    def create_table(self, spec: TableSpec, namespace: str) -> list[str]:
        body = ",\n  ".join(self.column_definition(column) for column in spec.columns)
        cluster = ", ".join(self.quote(column) for column in self.clustering(spec))
        return [
            f"CREATE TABLE IF NOT EXISTS {self.qualified(spec.name, namespace)} (\n  {body}\n)\n"
            f"PARTITION BY DATE({self.quote(spec.partition_by)})\n"
            f"CLUSTER BY {cluster}\n"
            f"OPTIONS(description={string_literal(spec.description)})"
        ]

    def add_column(self, table: str, column: Column, namespace: str) -> str:
        """Additive change: BigQuery only allows NULLABLE new columns, which is all evolution allows."""
        if not column.nullable:
            raise ValueError(f"BigQuery cannot add REQUIRED column {column.name} to an existing table")
        return super().add_column(table, column, namespace)


BIGQUERY = BigQueryDialect()
