"""BigQuery: the table schema as the API's JSON (fields with modes and descriptions), DAY
partitioning on ``occurred_at``, clustering, and the equivalent DDL.

The schema JSON is what ``bigquery.Table(schema=...)`` in the Pulumi program and
``google.cloud.bigquery.SchemaField.from_api_repr`` take, so both read the same value.
"""

from __future__ import annotations

import json
from typing import Any

from schema.dialects._sql import backslash_string_literal as string_literal
from schema.dialects._sql import build_script
from schema.identifiers import identifier
from schema.tables import TABLES, Column, TableSpec
from schema.types import LogicalType

NAME = "bigquery"
DEFAULT_NAMESPACE = "laundry_analytics"
MAX_CLUSTERING_FIELDS = 4

TYPES: dict[LogicalType, str] = {
    LogicalType.UUID: "STRING",
    LogicalType.TIMESTAMP: "TIMESTAMP",
    LogicalType.TEXT: "STRING",
    LogicalType.INTEGER: "INT64",
    LogicalType.FLOAT: "FLOAT64",
    LogicalType.JSON: "JSON",
    LogicalType.BYTES: "BYTES",
}


def quote(name: str) -> str:
    return f"`{identifier(name, 'column')}`"


def qualified(table: str, namespace: str) -> str:
    """``dataset.table`` in backticks; the project comes from the client or provider."""
    return f"`{identifier(namespace, 'dataset')}.{identifier(table, 'table')}`"


def schema_field(column: Column) -> dict[str, Any]:
    field: dict[str, Any] = {
        "name": identifier(column.name, "column"),
        "type": TYPES[column.type],
        "mode": "NULLABLE" if column.nullable else "REQUIRED",
    }
    if column.description:
        field["description"] = column.description
    return field


def schema_fields(spec: TableSpec) -> list[dict[str, Any]]:
    return [schema_field(column) for column in spec.columns]


def time_partitioning(spec: TableSpec) -> dict[str, str]:
    return {"type": "DAY", "field": spec.partition_by}


def clustering(spec: TableSpec) -> list[str]:
    if len(spec.cluster_by) > MAX_CLUSTERING_FIELDS:
        raise ValueError(f"table {spec.name}: BigQuery clusters on at most {MAX_CLUSTERING_FIELDS} columns")
    return list(spec.cluster_by)


def table_resource(spec: TableSpec) -> dict[str, Any]:
    """The parts of a BigQuery table resource the schema module decides."""
    return {
        "description": spec.description,
        "schema": {"fields": schema_fields(spec)},
        "timePartitioning": time_partitioning(spec),
        "clustering": {"fields": clustering(spec)},
    }


def schema_json(namespace: str = DEFAULT_NAMESPACE, tables: tuple[TableSpec, ...] = TABLES) -> str:
    """All tables' resources, keyed by table name: what ``ddl --dialect bigquery`` prints."""
    identifier(namespace, "dataset")
    document = {"dataset": namespace, "tables": {spec.name: table_resource(spec) for spec in tables}}
    return json.dumps(document, indent=2) + "\n"


def column_definition(column: Column) -> str:
    null = "" if column.nullable else " NOT NULL"
    options = f" OPTIONS(description={string_literal(column.description)})" if column.description else ""
    return f"{quote(column.name)} {TYPES[column.type]}{null}{options}"


def create_namespace(namespace: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS `{identifier(namespace, 'dataset')}`"


def create_table(spec: TableSpec, namespace: str) -> list[str]:
    body = ",\n  ".join(column_definition(column) for column in spec.columns)
    cluster = ", ".join(quote(column) for column in clustering(spec))
    return [
        f"CREATE TABLE IF NOT EXISTS {qualified(spec.name, namespace)} (\n  {body}\n)\n"
        f"PARTITION BY DATE({quote(spec.partition_by)})\n"
        f"CLUSTER BY {cluster}\n"
        f"OPTIONS(description={string_literal(spec.description)})"
    ]


def add_column(table: str, column: Column, namespace: str) -> str:
    """Additive change: BigQuery only allows NULLABLE new columns, which is all evolution allows."""
    if not column.nullable:
        raise ValueError(f"BigQuery cannot add REQUIRED column {column.name} to an existing table")
    return f"ALTER TABLE {qualified(table, namespace)} ADD COLUMN IF NOT EXISTS {column_definition(column)}"


def script(namespace: str = DEFAULT_NAMESPACE, tables: tuple[TableSpec, ...] = TABLES) -> str:
    return build_script(create_namespace, create_table, namespace, tables)
