"""Table-driven golden tests: one table spec in, each dialect's output side by side."""

from __future__ import annotations

import dataclasses
from typing import cast

import pytest

from schema.dialects import BIGQUERY, DIALECTS, SNOWFLAKE, UnknownLogicalTypeError, dialect
from schema.tables import Column, TableSpec
from schema.types import LogicalType

TOY = TableSpec(
    name="toy_events",
    description="Toy.",
    columns=(
        Column("event_id", LogicalType.UUID, False, "Id."),
        Column("occurred_at", LogicalType.TIMESTAMP, False, ""),
        Column("note", LogicalType.TEXT, True, "It's a \\ note"),
        Column("n", LogicalType.INTEGER, True, ""),
        Column("x", LogicalType.FLOAT, True, ""),
        Column("doc", LogicalType.JSON, False, ""),
        Column("raw", LogicalType.BYTES, True, ""),
    ),
    primary_key=("event_id",),
    partition_by="occurred_at",
    cluster_by=("note",),
    indexes=("note",),
)

CREATE_TABLE: dict[str, list[str]] = {
    "postgres": [
        'CREATE TABLE IF NOT EXISTS "ns"."toy_events" (\n  "event_id" uuid NOT NULL,\n  "occurred_at" timestamptz '
        'NOT NULL,\n  "note" text,\n  "n" bigint,\n  "x" double precision,\n  "doc" jsonb NOT NULL,\n  "raw" bytea,\n'
        '  PRIMARY KEY ("event_id")\n)',
        'CREATE INDEX IF NOT EXISTS "toy_events_occurred_at_brin" ON "ns"."toy_events" USING brin ("occurred_at")',
        'CREATE INDEX IF NOT EXISTS "toy_events_note_idx" ON "ns"."toy_events" ("note")',
        'COMMENT ON TABLE "ns"."toy_events" IS \'Toy.\'',
        'COMMENT ON COLUMN "ns"."toy_events"."event_id" IS \'Id.\'',
        'COMMENT ON COLUMN "ns"."toy_events"."note" IS \'It\'\'s a \\ note\'',
    ],
    "duckdb": [
        'CREATE TABLE IF NOT EXISTS "ns"."toy_events" (\n  "event_id" UUID NOT NULL,\n  "occurred_at" TIMESTAMPTZ '
        'NOT NULL,\n  "note" VARCHAR,\n  "n" BIGINT,\n  "x" DOUBLE,\n  "doc" JSON NOT NULL,\n  "raw" BLOB,\n'
        '  PRIMARY KEY ("event_id")\n)'
    ],
    "bigquery": [
        "CREATE TABLE IF NOT EXISTS `ns.toy_events` (\n  `event_id` STRING NOT NULL OPTIONS(description='Id.'),\n"
        "  `occurred_at` TIMESTAMP NOT NULL,\n  `note` STRING OPTIONS(description='It\\'s a \\\\ note'),\n"
        "  `n` INT64,\n  `x` FLOAT64,\n  `doc` JSON NOT NULL,\n  `raw` BYTES\n)\nPARTITION BY DATE(`occurred_at`)\n"
        "CLUSTER BY `note`\nOPTIONS(description='Toy.')"
    ],
    "snowflake": [
        'CREATE TABLE IF NOT EXISTS "NS"."TOY_EVENTS" (\n  "EVENT_ID" VARCHAR(36) NOT NULL COMMENT \'Id.\',\n'
        '  "OCCURRED_AT" TIMESTAMP_TZ NOT NULL,\n  "NOTE" VARCHAR COMMENT \'It\\\'s a \\\\ note\',\n'
        '  "N" NUMBER(38,0),\n  "X" FLOAT,\n  "DOC" VARIANT NOT NULL,\n  "RAW" BINARY,\n'
        '  PRIMARY KEY ("EVENT_ID")\n)\nCLUSTER BY (TO_DATE("OCCURRED_AT"), "NOTE")\nCOMMENT = \'Toy.\''
    ],
}

ADD_COLUMN: dict[str, str] = {
    "postgres": 'ALTER TABLE "ns"."toy_events" ADD COLUMN IF NOT EXISTS "extra" text',
    "duckdb": 'ALTER TABLE "ns"."toy_events" ADD COLUMN IF NOT EXISTS "extra" VARCHAR',
    "bigquery": "ALTER TABLE `ns.toy_events` ADD COLUMN IF NOT EXISTS `extra` STRING",
    "snowflake": 'ALTER TABLE "NS"."TOY_EVENTS" ADD COLUMN IF NOT EXISTS "EXTRA" VARCHAR',
}


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_create_table(name: str) -> None:
    assert dialect(name).create_table(TOY, "ns") == CREATE_TABLE[name]


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_add_nullable_column(name: str) -> None:
    assert (
        dialect(name).add_column("toy_events", Column("extra", LogicalType.TEXT, True, ""), "ns")
        == ADD_COLUMN[name]
    )


# The contract's type table (docs/contract.md), written out by hand: logical -> warehouse type.
TYPES: dict[str, dict[str, str]] = {
    "postgres": {
        "uuid": "uuid",
        "timestamp": "timestamptz",
        "text": "text",
        "integer": "bigint",
        "float": "double precision",
        "json": "jsonb",
        "bytes": "bytea",
    },
    "bigquery": {
        "uuid": "STRING",
        "timestamp": "TIMESTAMP",
        "text": "STRING",
        "integer": "INT64",
        "float": "FLOAT64",
        "json": "JSON",
        "bytes": "BYTES",
    },
    "snowflake": {
        "uuid": "VARCHAR(36)",
        "timestamp": "TIMESTAMP_TZ",
        "text": "VARCHAR",
        "integer": "NUMBER(38,0)",
        "float": "FLOAT",
        "json": "VARIANT",
        "bytes": "BINARY",
    },
    "duckdb": {
        "uuid": "UUID",
        "timestamp": "TIMESTAMPTZ",
        "text": "VARCHAR",
        "integer": "BIGINT",
        "float": "DOUBLE",
        "json": "JSON",
        "bytes": "BLOB",
    },
}


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_every_logical_type_maps_to_the_contracts_warehouse_type(name: str) -> None:
    assert {str(logical): dialect(name).type_of(logical) for logical in LogicalType} == TYPES[name]


# A logical type no dialect maps (as if one were added to LogicalType and not to the renderers).
GEOGRAPHY = cast(LogicalType, "geography")
WITH_UNKNOWN_TYPE = dataclasses.replace(TOY, columns=(*TOY.columns, Column("area", GEOGRAPHY, True, "")))


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_an_unknown_logical_type_is_an_error_in_every_renderer(name: str) -> None:
    renderer = dialect(name)
    message = rf"dialect {name} has no type for logical type 'geography'"
    with pytest.raises(UnknownLogicalTypeError, match=message):
        renderer.create_table(WITH_UNKNOWN_TYPE, "ns")
    with pytest.raises(UnknownLogicalTypeError, match=message):
        renderer.add_column("toy_events", Column("area", GEOGRAPHY, True, ""), "ns")


def test_provider_inputs_refuse_an_unknown_logical_type_too() -> None:
    with pytest.raises(UnknownLogicalTypeError):
        BIGQUERY.schema_fields(WITH_UNKNOWN_TYPE)
    with pytest.raises(UnknownLogicalTypeError):
        SNOWFLAKE.column_specs(WITH_UNKNOWN_TYPE)
    with pytest.raises(UnknownLogicalTypeError):
        SNOWFLAKE.copy_into(WITH_UNKNOWN_TYPE, "ns", "stage", "format")


def test_bigquery_refuses_to_add_a_required_column() -> None:
    with pytest.raises(ValueError, match="REQUIRED"):
        dialect("bigquery").add_column("toy_events", Column("extra", LogicalType.TEXT, False, ""), "ns")


def test_unknown_dialect_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown dialect 'oracle'; expected one of \['bigquery', 'duckdb'"):
        dialect("oracle")
