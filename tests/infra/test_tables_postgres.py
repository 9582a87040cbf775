"""The Postgres dynamic provider's CRUD, run directly against the real local Postgres (no mocks).

Pulumi's engine would call these methods with the same property bags; here the test is the
engine, so what is checked is what the database ends up holding.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import dill
import psycopg
import pytest

from infra.tables.postgres import (
    PostgresTableProvider,
    ProtectedTableError,
    table_inputs,
)
from schema.dialects import POSTGRES as postgres
from schema.exceptions import SchemaEvolutionError
from schema.tables import EVENT_TABLES, Column, TableSpec
from schema.types import LogicalType

NAMESPACE = "analytics_test"
SPEC = next(iter(EVENT_TABLES.values()))


def _props(url: str, spec: TableSpec = SPEC, protected: bool = False) -> dict[str, Any]:
    return table_inputs(spec, NAMESPACE, url, protected)


def _columns(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            (NAMESPACE, table),
        ).fetchall()
    return [row[0] for row in rows]


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(f"SELECT count(*) FROM {postgres.qualified(table, NAMESPACE)}").fetchone()
    assert row is not None
    return int(row[0])


def _insert_one(url: str, spec: TableSpec) -> None:
    """One row with every required column set, through the table's real constraints."""
    values: dict[LogicalType, Any] = {
        LogicalType.UUID: "00000000-0000-4000-8000-000000000001",
        LogicalType.TIMESTAMP: "2026-01-01T00:00:00Z",
        LogicalType.TEXT: "x",
        LogicalType.INTEGER: 1,
        LogicalType.FLOAT: 1.0,
        LogicalType.JSON: "{}",
        LogicalType.BYTES: b"x",
    }
    required = [column for column in spec.columns if not column.nullable]
    names = ", ".join(postgres.quote(column.name) for column in required)
    marks = ", ".join("%s" for _ in required)
    with psycopg.connect(url) as connection:
        connection.execute(
            f"INSERT INTO {postgres.qualified(spec.name, NAMESPACE)} ({names}) VALUES ({marks})",
            [values[column.type] for column in required],
        )


def _create_namespace(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(postgres.create_namespace(NAMESPACE))


def _created(
    url: str, protected: bool = False, rows: int = 0
) -> tuple[PostgresTableProvider, dict[str, Any]]:
    """A provider and the outputs of a table it created (with ``rows`` rows in it)."""
    _create_namespace(url)
    provider = PostgresTableProvider()
    outs = provider.create(_props(url, protected=protected)).outs
    assert outs is not None
    for _ in range(rows):
        _insert_one(url, SPEC)
    return provider, outs


def test_create_runs_the_schema_modules_ddl(pg_url: str) -> None:
    _create_namespace(pg_url)
    result = PostgresTableProvider().create(_props(pg_url))

    assert result.id == postgres.qualified(SPEC.name, NAMESPACE)
    assert _columns(pg_url, SPEC.name) == list(SPEC.column_names)
    assert result.outs is not None and result.outs["snapshot"] == SPEC.snapshot()


def test_create_adopts_an_existing_table_of_the_same_shape_and_keeps_its_rows(pg_url: str) -> None:
    provider, _ = _created(pg_url, rows=1)

    provider.create(_props(pg_url))

    assert _count(pg_url, SPEC.name) == 1


def test_create_refuses_to_adopt_an_existing_table_of_another_shape(pg_url: str) -> None:
    _create_namespace(pg_url)
    with psycopg.connect(pg_url) as connection:
        connection.execute(
            f"CREATE TABLE {postgres.qualified(SPEC.name, NAMESPACE)} (event_id uuid PRIMARY KEY)"
        )

    with pytest.raises(SchemaEvolutionError, match="already exists without columns"):
        PostgresTableProvider().create(_props(pg_url))

    assert _columns(pg_url, SPEC.name) == ["event_id"]


def test_additive_evolution_adds_the_column_in_place_and_keeps_rows(pg_url: str) -> None:
    provider, olds = _created(pg_url, rows=1)
    added = Column("coupon_code", LogicalType.TEXT, True, "Coupon applied, if any.")
    evolved = dataclasses.replace(SPEC, columns=(*SPEC.columns, added))
    news = _props(pg_url, evolved)

    diff = provider.diff(str(olds["table"]), olds, news)
    assert diff.changes is True
    assert diff.replaces == []
    provider.update(str(olds["table"]), olds, news)

    assert _columns(pg_url, SPEC.name) == [*SPEC.column_names, "coupon_code"]
    assert _count(pg_url, SPEC.name) == 1


def _indexes(url: str, table: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s", (NAMESPACE, table)
        ).fetchall()
    return {row[0] for row in rows}


def test_a_new_index_and_a_rotated_url_are_in_place_updates(pg_url: str) -> None:
    provider, olds = _created(pg_url, rows=1)
    indexed = dataclasses.replace(SPEC, indexes=(*SPEC.indexes, "event_name"))
    news = _props(pg_url + "?application_name=rotated", indexed)
    new_index = postgres.index_name(SPEC.name, "event_name")
    assert new_index not in _indexes(pg_url, SPEC.name)

    diff = provider.diff(str(olds["table"]), olds, news)
    assert (diff.changes, diff.replaces) == (True, [])
    outs = provider.update(str(olds["table"]), olds, news).outs

    assert new_index in _indexes(pg_url, SPEC.name)
    assert outs is not None and outs["url"].endswith("application_name=rotated")
    assert _count(pg_url, SPEC.name) == 1


def test_breaking_evolution_is_refused_and_the_table_untouched(pg_url: str) -> None:
    provider, olds = _created(pg_url, rows=1)
    last = SPEC.columns[-1].name
    dropped = dataclasses.replace(
        SPEC, columns=SPEC.columns[:-1], indexes=tuple(i for i in SPEC.indexes if i != last)
    )
    news = _props(pg_url, dropped)

    with pytest.raises(SchemaEvolutionError, match=r"drop_column.*How to ship it instead"):
        provider.diff(str(olds["table"]), olds, news)
    with pytest.raises(SchemaEvolutionError, match="breaking"):
        provider.update(str(olds["table"]), olds, news)

    assert _columns(pg_url, SPEC.name) == list(SPEC.column_names)
    assert _count(pg_url, SPEC.name) == 1


# diff() never connects: these tests need no database.
UNUSED_URL = "postgresql://nobody@127.0.0.1:1/none"


def test_moving_a_table_to_another_schema_is_refused_not_replaced() -> None:
    olds = _props(UNUSED_URL)
    news = {**olds, "namespace": "elsewhere"}

    with pytest.raises(SchemaEvolutionError, match="replace the table"):
        PostgresTableProvider().diff("id", olds, news)


def test_unchanged_spec_is_no_change() -> None:
    olds = _props(UNUSED_URL)

    diff = PostgresTableProvider().diff("id", olds, _props(UNUSED_URL))

    assert diff.changes is False
    assert diff.replaces == []


def test_delete_of_a_protected_table_is_refused(pg_url: str) -> None:
    provider, outs = _created(pg_url, protected=True, rows=1)

    with pytest.raises(ProtectedTableError, match="refusing to drop protected table"):
        provider.delete(str(outs["table"]), outs)

    assert _count(pg_url, SPEC.name) == 1


def test_delete_drops_an_unprotected_table(pg_url: str) -> None:
    provider, outs = _created(pg_url)

    provider.delete(str(outs["table"]), outs)

    assert _columns(pg_url, SPEC.name) == []


def test_the_pickled_provider_carries_no_connection_or_secret() -> None:
    """Pulumi stores the provider in the state with dill: it must hold nothing but its class."""
    provider = PostgresTableProvider()
    provider.diff("id", _props(UNUSED_URL), _props(UNUSED_URL))

    blob = dill.dumps(provider, protocol=pickle.DEFAULT_PROTOCOL, recurse=True)

    assert vars(provider) == {}
    assert b"postgresql://" not in blob
    assert dill.loads(blob).__class__ is PostgresTableProvider


def test_read_of_an_intact_table_returns_it_as_declared(pg_url: str) -> None:
    provider, outs = _created(pg_url)

    result = provider.read(postgres.qualified(SPEC.name, NAMESPACE), outs)

    assert result.id == postgres.qualified(SPEC.name, NAMESPACE)
    assert result.outs == outs
    assert result.inputs == outs


def test_read_sees_a_dropped_table_as_gone(pg_url: str) -> None:
    provider, outs = _created(pg_url)
    with psycopg.connect(pg_url) as connection:
        connection.execute(f"DROP TABLE {postgres.qualified(SPEC.name, NAMESPACE)}")

    result = provider.read(postgres.qualified(SPEC.name, NAMESPACE), outs)

    assert (result.id, result.outs) == ("", {})


def test_read_sees_a_dropped_column_and_the_next_up_adds_it_back(pg_url: str) -> None:
    provider, outs = _created(pg_url, rows=1)
    nullable = next(column.name for column in reversed(SPEC.columns) if column.nullable)
    with psycopg.connect(pg_url) as connection:
        connection.execute(f"ALTER TABLE {postgres.qualified(SPEC.name, NAMESPACE)} DROP COLUMN {nullable}")

    refreshed = provider.read(postgres.qualified(SPEC.name, NAMESPACE), outs).outs
    assert refreshed is not None
    assert [c["name"] for c in refreshed["snapshot"]["columns"]] == [
        name for name in SPEC.column_names if name != nullable
    ]
    news = _props(pg_url)
    assert provider.diff("id", refreshed, news).changes is True
    provider.update("id", refreshed, news)

    assert sorted(_columns(pg_url, SPEC.name)) == sorted(SPEC.column_names)
    assert _count(pg_url, SPEC.name) == 1


def test_read_without_the_connection_says_how_to_adopt_a_table() -> None:
    with pytest.raises(ValueError, match="import_ resource option"):
        PostgresTableProvider().read("x", {})
