"""What the schema module allows can never make a table replace, in any warehouse.

The providers' own diff cannot run here; what is asserted is the input side of it: an additive
change (a new nullable column) changes only the column list, by appending, which the BigQuery and
Snowflake providers apply in place; partitioning, clustering and keys stay as they were.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.tables import bigquery, postgres, snowflake
from schema.tables import TABLES, Column, TableSpec
from schema.types import LogicalType

ADDED = Column("coupon_code", LogicalType.TEXT, True, "Coupon applied, if any.")


def _evolved(spec: TableSpec) -> TableSpec:
    return dataclasses.replace(spec, columns=(*spec.columns, ADDED))


def _value(arg: Any) -> Any:
    """Provider input objects (``*Args``) compared by their values, not their identity."""
    if isinstance(arg, list):
        return [_value(item) for item in arg]
    if hasattr(arg, "__dict__"):
        return {key: _value(item) for key, item in vars(arg).items()}
    return arg


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {key for key in before.keys() | after.keys() if _value(before.get(key)) != _value(after.get(key))}


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_bigquery_additive_change_only_appends_a_nullable_field(spec: TableSpec) -> None:
    before, after = bigquery.table_args(spec), bigquery.table_args(_evolved(spec))

    assert _changed(before, after) == {"schema"}
    assert after["schema"].startswith(before["schema"][:-1])
    assert after["schema"].endswith('"mode": "NULLABLE", "description": "Coupon applied, if any."}]')


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_snowflake_additive_change_only_appends_a_nullable_column(spec: TableSpec) -> None:
    before, after = snowflake.table_args(spec), snowflake.table_args(_evolved(spec))

    assert _changed(before, after) == {"columns"}
    assert _value(after["columns"][:-1]) == _value(before["columns"])
    assert after["columns"][-1].nullable is True


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_postgres_additive_change_is_an_update_never_a_replace(spec: TableSpec) -> None:
    olds = postgres.table_inputs(spec, "analytics", "postgresql://unused", True)
    news = postgres.table_inputs(_evolved(spec), "analytics", "postgresql://unused", True)

    diff = postgres.PostgresTableProvider().diff("id", olds, news)

    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, [], False)
