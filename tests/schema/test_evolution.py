"""Schema evolution: one test per rule, the lock check, and a breaking model change end to end."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import psycopg
import pytest
from pydantic import Field

from schema import SchemaEvolutionError
from schema.dialects import POSTGRES as postgres
from schema.events import FAMILIES, DriverTelemetryPayload, Identifier, OrderLifecyclePayload
from schema.evolution import Operation, diff_against_lock, diff_snapshots, diff_table, load_lock
from schema.fingerprint import schema_snapshot
from schema.tables import event_table

TABLE = "analytics_driver_telemetry_events"


def _current() -> dict[str, Any]:
    return schema_snapshot()


def _changed(change: Any) -> dict[str, Any]:
    snapshot = copy.deepcopy(_current())
    change(snapshot["tables"][TABLE])
    return snapshot


def _column(table: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in table["columns"] if c["name"] == name)


def _ops(new: dict[str, Any]) -> list[tuple[Operation, str | None]]:
    return [(d.op, d.column) for d in diff_snapshots(_current(), new).deltas]


def test_the_models_match_the_committed_lock() -> None:
    diff = diff_against_lock()
    assert not diff.breaking, diff.report()
    assert not diff, (
        f"schema changed without updating the lock; run `python -m schema lock`:\n{diff.report()}"
    )


def test_no_change_no_deltas() -> None:
    assert not diff_snapshots(_current(), _current())


def test_add_nullable_column_is_additive_and_renders_alters() -> None:
    new = _changed(lambda t: t["columns"].append({"name": "battery", "type": "float", "nullable": True}))
    diff = diff_snapshots(_current(), new)
    assert [(d.op, d.column, d.breaking) for d in diff.deltas] == [(Operation.ADD_COLUMN, "battery", False)]
    assert diff.statements("postgres", "analytics") == [
        f'ALTER TABLE "analytics"."{TABLE}" ADD COLUMN IF NOT EXISTS "battery" double precision'
    ]
    assert diff.statements("bigquery", "ds") == [
        f"ALTER TABLE `ds.{TABLE}` ADD COLUMN IF NOT EXISTS `battery` FLOAT64"
    ]
    assert diff.statements("snowflake", "A") == [
        f'ALTER TABLE "A"."{TABLE.upper()}" ADD COLUMN IF NOT EXISTS "BATTERY" FLOAT'
    ]
    diff.raise_if_breaking()


def test_add_table_is_additive() -> None:
    new = copy.deepcopy(_current())
    new["tables"]["analytics_x_events"] = dict(new["tables"][TABLE], name="analytics_x_events")
    diff = diff_snapshots(_current(), new)
    assert [(d.op, d.breaking) for d in diff.deltas] == [(Operation.ADD_TABLE, False)]
    assert diff.statements("duckdb", "main")[0].startswith(
        'CREATE TABLE IF NOT EXISTS "main"."analytics_x_events"'
    )


def test_add_event_name_is_additive() -> None:
    new = copy.deepcopy(_current())
    new["families"]["driver.telemetry"]["events"].append("shift_started")
    assert _ops(new) == [(Operation.ADD_EVENT_NAME, "shift_started")]
    assert not diff_snapshots(_current(), new).breaking


BREAKING: list[tuple[str, Any, Operation, str | None]] = [
    (
        "add required column",
        lambda t: t["columns"].append({"name": "battery", "type": "float", "nullable": False}),
        Operation.ADD_REQUIRED_COLUMN,
        "battery",
    ),
    (
        "drop column",
        lambda t: t["columns"].remove(_column(t, "speed_kmh")),
        Operation.DROP_COLUMN,
        "speed_kmh",
    ),
    (
        "rename column",
        lambda t: _column(t, "speed_kmh").update(name="velocity_kmh"),
        Operation.RENAME_COLUMN,
        "speed_kmh",
    ),
    (
        "retype column",
        lambda t: _column(t, "speed_kmh").update(type="integer"),
        Operation.ALTER_TYPE,
        "speed_kmh",
    ),
    (
        "tighten nullability",
        lambda t: _column(t, "speed_kmh").update(nullable=False),
        Operation.TIGHTEN_NULLABILITY,
        "speed_kmh",
    ),
    (
        "relax nullability",
        lambda t: _column(t, "driver_id").update(nullable=True),
        Operation.RELAX_NULLABILITY,
        "driver_id",
    ),
    (
        "change dedup key",
        lambda t: t.update(primary_key=["event_id", "driver_id"]),
        Operation.CHANGE_KEY,
        None,
    ),
    (
        "change partitioning",
        lambda t: t.update(partition_by="received_at"),
        Operation.CHANGE_PARTITIONING,
        None,
    ),
    ("change clustering", lambda t: t.update(cluster_by=["order_id"]), Operation.CHANGE_CLUSTERING, None),
]


@pytest.mark.parametrize(("case", "change", "op", "column"), BREAKING, ids=[b[0] for b in BREAKING])
def test_breaking_rules(case: str, change: Any, op: Operation, column: str | None) -> None:
    diff = diff_snapshots(_current(), _changed(change))
    assert [(d.op, d.column) for d in diff.deltas] == [(op, column)]
    assert diff.breaking and diff.statements("postgres", "analytics") == []
    with pytest.raises(SchemaEvolutionError) as caught:
        diff.raise_if_breaking()
    message = str(caught.value)
    assert TABLE in message and op.value in message and "How to ship it instead" in message
    if column:
        assert f"{TABLE}.{column}" in message


def test_drop_table_is_breaking() -> None:
    new = copy.deepcopy(_current())
    del new["tables"][TABLE]
    assert _ops(new) == [(Operation.DROP_TABLE, None)]
    assert "never dropped" in diff_snapshots(_current(), new).report()


def test_drop_event_name_is_breaking() -> None:
    new = copy.deepcopy(_current())
    new["families"]["order.lifecycle"]["events"].remove("created")
    diff = diff_snapshots(_current(), new)
    assert [(d.op, d.column, d.breaking) for d in diff.deltas] == [
        (Operation.DROP_EVENT_NAME, "created", True)
    ]


def test_two_drops_and_adds_are_not_guessed_as_renames() -> None:
    def change(t: dict[str, Any]) -> None:
        for name in ("speed_kmh", "heading_deg"):
            _column(t, name).update(name=f"{name}_v2")

    ops = sorted(op.value for op, _ in _ops(_changed(change)))
    assert ops == ["add_column", "add_column", "drop_column", "drop_column"]


class _RetypedTelemetry(DriverTelemetryPayload):
    """A deliberately breaking model change: a fact column changes type."""

    speed_kmh: int | None = Field(None, description="Ground speed in km/h.")


class _NewColumnOrder(OrderLifecyclePayload):
    """An additive model change: a new optional payload field becomes a nullable column."""

    eta_minutes: int | None = Field(None, description="Estimated minutes to delivery.")
    courier: Identifier | None = None


def _snapshot_with(payload: type, category: str) -> dict[str, Any]:
    family = next(f for f in FAMILIES if f.category == category)
    spec = event_table(dataclasses.replace(family, payload=payload))
    snapshot = copy.deepcopy(load_lock())
    snapshot["tables"][spec.name] = spec.snapshot()
    return snapshot


def test_a_breaking_model_change_fails_with_a_message_that_names_it() -> None:
    diff = diff_snapshots(load_lock(), _snapshot_with(_RetypedTelemetry, "driver.telemetry"))
    with pytest.raises(
        SchemaEvolutionError, match=rf"{TABLE}\.speed_kmh: alter_type \(\"float\" -> \"integer\"\)"
    ):
        diff.raise_if_breaking()


def test_an_additive_model_change_applies_in_place_on_postgres(pg_url: str) -> None:
    new = _snapshot_with(_NewColumnOrder, "order.lifecycle")
    diff = diff_snapshots(load_lock(), new)
    assert [(d.op, d.column) for d in diff.deltas] == [
        (Operation.ADD_COLUMN, "courier"),
        (Operation.ADD_COLUMN, "eta_minutes"),
    ]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(postgres.script())
        table = postgres.qualified("analytics_order_lifecycle_events", "analytics")
        conn.execute(
            f"insert into {table} (event_id, event_name, occurred_at, received_at, source, schema_version, "
            "context, payload, order_id) values (gen_random_uuid(), 'created', now(), now(), 'api', 1, '{}', '{}', 'o')"
        )
        for statement in diff.statements("postgres", "analytics"):
            conn.execute(statement)
        row = conn.execute(f"select order_id, eta_minutes, courier from {table}").fetchall()
        assert row == [("o", None, None)]


def test_diff_table_sorts_deltas() -> None:
    old = _current()["tables"][TABLE]
    new = copy.deepcopy(old)
    new["columns"].append({"name": "a", "type": "text", "nullable": True})
    new["columns"].append({"name": "z", "type": "text", "nullable": True})
    assert [d.column for d in diff_table(old, new)] == ["a", "z"]


def test_the_report_lists_every_change_in_one_format() -> None:
    def change(t: dict[str, Any]) -> None:
        t["columns"].append({"name": "battery", "type": "float", "nullable": True})
        _column(t, "speed_kmh").update(type="integer")

    diff = diff_snapshots(_current(), _changed(change))
    assert diff.report() == (
        "1 breaking, 1 additive change(s):\n"
        f'  - {TABLE}.battery: add_column (- -> "float")\n'
        f'  - {TABLE}.speed_kmh: alter_type ("float" -> "integer"); breaking. How to ship it instead: '
        "add a new nullable column with the new type (e.g. <column>_v2) and backfill it"
    )
    assert diff.deltas[1].values("warehouse ", "schema ") == 'warehouse "float" -> schema "integer"'
