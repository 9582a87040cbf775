"""Schema evolution as values: what a change to the models does to each deployed table.

Comparing two snapshots (the committed lock, or a deployed table's state, against the models)
yields ``SchemaDelta`` values. Adding a nullable column, a table or an event name is additive and
ships as in-place ``ALTER``/``CREATE`` statements for every dialect. Everything else breaks
something deployed (a table the BigQuery or Snowflake provider would replace, readers, or
producers) and is refused with a message that names the table, column and rule, and says how to
ship the intent instead.

Limitations, stated plainly: a rename is inferred when exactly one column disappears and exactly
one of the same type and nullability appears in the same table; anything else is reported as a
drop plus an add. Changes to descriptions and Postgres indexes are not schema changes here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from schema.dialects import dialect
from schema.exceptions import SchemaEvolutionError
from schema.fingerprint import schema_snapshot
from schema.tables import Column, TableSpec

LOCK_FILE = "schema.lock.json"


class Operation(StrEnum):
    ADD_TABLE = "add_table"
    ADD_COLUMN = "add_column"
    ADD_EVENT_NAME = "add_event_name"
    DROP_TABLE = "drop_table"
    ADD_REQUIRED_COLUMN = "add_required_column"
    DROP_COLUMN = "drop_column"
    RENAME_COLUMN = "rename_column"
    ALTER_TYPE = "alter_type"
    TIGHTEN_NULLABILITY = "tighten_nullability"
    RELAX_NULLABILITY = "relax_nullability"
    CHANGE_KEY = "change_key"
    CHANGE_PARTITIONING = "change_partitioning"
    CHANGE_CLUSTERING = "change_clustering"
    DROP_EVENT_NAME = "drop_event_name"


ADDITIVE = frozenset({Operation.ADD_TABLE, Operation.ADD_COLUMN, Operation.ADD_EVENT_NAME})

_HOW_TO_SHIP: dict[Operation, str] = {
    Operation.DROP_TABLE: "tables are never dropped by a schema change; stop writing to it and retire it "
    "in a separate, reviewed operation",
    Operation.ADD_REQUIRED_COLUMN: "existing rows have no value for it: add it as a nullable column "
    "(`X | None = None`) and enforce presence in the payload model of a new schema version",
    Operation.DROP_COLUMN: "keep the column (stop filling it, leave it nullable), or ship a new table "
    "version (e.g. <table>_v2) and migrate readers",
    Operation.RENAME_COLUMN: "add the new name as a nullable column and keep writing the old one until "
    "readers have moved; never rename in place",
    Operation.ALTER_TYPE: "add a new nullable column with the new type (e.g. <column>_v2) and backfill it",
    Operation.TIGHTEN_NULLABILITY: "existing rows may hold NULL: validate presence in the payload model "
    "and keep the column nullable",
    Operation.RELAX_NULLABILITY: "readers rely on the column being present: keep it required, or add a "
    "new nullable column",
    Operation.CHANGE_KEY: "the dedup key defines exactly-once writes: ship a new table version",
    Operation.CHANGE_PARTITIONING: "BigQuery and Snowflake replace a table to change partitioning, losing "
    "data: ship a new table version",
    Operation.CHANGE_CLUSTERING: "a clustering change can make the providers replace the table: ship a "
    "new table version, or re-cluster with a reviewed manual operation",
    Operation.DROP_EVENT_NAME: "producers may still send it: keep the name and stop emitting it",
}


@dataclass(frozen=True)
class SchemaDelta:
    """One change to one table (or one family's event names)."""

    op: Operation
    table: str
    column: str | None = None
    before: Any = None
    after: Any = None
    added: Column | None = field(default=None, compare=False)

    @property
    def breaking(self) -> bool:
        return self.op not in ADDITIVE

    @property
    def where(self) -> str:
        """``table.column``, or the table (or category) alone."""
        return f"{self.table}.{self.column}" if self.column else self.table

    def values(self, before_label: str = "", after_label: str = "") -> str:
        """``before -> after`` as JSON (``-`` for nothing), each side optionally labelled."""
        return f"{before_label}{_show(self.before)} -> {after_label}{_show(self.after)}"

    def describe(self) -> str:
        change = f" ({self.values()})" if self.before is not None or self.after is not None else ""
        text = f"{self.where}: {self.op.value}{change}"
        if self.breaking:
            text += f"; breaking. How to ship it instead: {_HOW_TO_SHIP[self.op]}"
        return text

    @classmethod
    def add_column(cls, table: str, column: Column) -> SchemaDelta:
        op = Operation.ADD_COLUMN if column.nullable else Operation.ADD_REQUIRED_COLUMN
        return cls(op, table, column.name, None, column.type.value, added=column)

    @classmethod
    def drop_column(cls, table: str, column: Column) -> SchemaDelta:
        return cls(Operation.DROP_COLUMN, table, column.name, column.type.value, None)

    @classmethod
    def rename_column(cls, table: str, old: Column, new: Column) -> SchemaDelta:
        return cls(Operation.RENAME_COLUMN, table, old.name, old.name, new.name)


def _show(value: Any) -> str:
    return "-" if value is None else json.dumps(value)


def bullets(lines: Iterable[str]) -> list[str]:
    """The indented list every evolution report and error uses."""
    return [f"  - {line}" for line in lines]


@dataclass(frozen=True)
class SchemaDiff:
    """All deltas between two snapshots, with the statements that ship the additive ones."""

    deltas: tuple[SchemaDelta, ...]
    new_tables: Mapping[str, TableSpec] = field(default_factory=dict, compare=False)

    @property
    def breaking(self) -> tuple[SchemaDelta, ...]:
        return tuple(delta for delta in self.deltas if delta.breaking)

    @property
    def additive(self) -> tuple[SchemaDelta, ...]:
        return tuple(delta for delta in self.deltas if not delta.breaking)

    def __bool__(self) -> bool:
        return bool(self.deltas)

    def statements(self, dialect_name: str, namespace: str) -> list[str]:
        """The in-place statements that apply the additive deltas in ``dialect_name``."""
        renderer = dialect(dialect_name)
        statements: list[str] = []
        for delta in self.additive:
            if delta.op is Operation.ADD_COLUMN and delta.added is not None:
                statements.append(renderer.add_column(delta.table, delta.added, namespace))
            elif delta.op is Operation.ADD_TABLE:
                statements.extend(renderer.create_table(self.new_tables[delta.table], namespace))
        return statements

    def report(self) -> str:
        if not self.deltas:
            return "no schema changes"
        header = f"{len(self.breaking)} breaking, {len(self.additive)} additive change(s):"
        return "\n".join([header, *bullets(delta.describe() for delta in self.deltas)])

    def raise_if_breaking(self) -> None:
        if self.breaking:
            raise SchemaEvolutionError(
                "breaking schema change(s); deployed tables would lose data or readers would break:\n"
                + "\n".join(bullets(delta.describe() for delta in self.breaking))
            )


def diff_table(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[SchemaDelta]:
    """Deltas from one table snapshot (``TableSpec.snapshot()``) to another."""
    table = new["name"]
    before = TableSpec.from_snapshot(old)
    after = TableSpec.from_snapshot(new)
    old_columns = {c.name: c for c in before.columns}
    new_columns = {c.name: c for c in after.columns}
    dropped = [c for name, c in old_columns.items() if name not in new_columns]
    added = [c for name, c in new_columns.items() if name not in old_columns]
    deltas: list[SchemaDelta] = []
    if (
        len(dropped) == 1
        and len(added) == 1
        and (dropped[0].type, dropped[0].nullable) == (added[0].type, added[0].nullable)
    ):
        deltas.append(SchemaDelta.rename_column(table, dropped[0], added[0]))
    else:
        deltas.extend(SchemaDelta.drop_column(table, column) for column in dropped)
        deltas.extend(SchemaDelta.add_column(table, column) for column in added)
    for name in old_columns.keys() & new_columns.keys():
        was, now = old_columns[name], new_columns[name]
        if was.type != now.type:
            deltas.append(SchemaDelta(Operation.ALTER_TYPE, table, name, was.type.value, now.type.value))
        if was.nullable and not now.nullable:
            deltas.append(SchemaDelta(Operation.TIGHTEN_NULLABILITY, table, name, "nullable", "required"))
        if now.nullable and not was.nullable:
            deltas.append(SchemaDelta(Operation.RELAX_NULLABILITY, table, name, "required", "nullable"))
    if before.primary_key != after.primary_key:
        deltas.append(
            SchemaDelta(Operation.CHANGE_KEY, table, None, list(before.primary_key), list(after.primary_key))
        )
    if before.partition_by != after.partition_by:
        deltas.append(
            SchemaDelta(Operation.CHANGE_PARTITIONING, table, None, before.partition_by, after.partition_by)
        )
    if before.cluster_by != after.cluster_by:
        deltas.append(
            SchemaDelta(
                Operation.CHANGE_CLUSTERING, table, None, list(before.cluster_by), list(after.cluster_by)
            )
        )
    return sorted(deltas, key=lambda d: (d.table, d.column or "", d.op.value))


def diff_snapshots(old: Mapping[str, Any], new: Mapping[str, Any]) -> SchemaDiff:
    """Deltas between two whole-schema snapshots (``fingerprint.schema_snapshot()``)."""
    deltas: list[SchemaDelta] = []
    old_tables, new_tables = old.get("tables", {}), new.get("tables", {})
    for name in sorted(old_tables.keys() - new_tables.keys()):
        deltas.append(SchemaDelta(Operation.DROP_TABLE, name))
    added_tables = {
        name: TableSpec.from_snapshot(new_tables[name]) for name in new_tables.keys() - old_tables.keys()
    }
    deltas.extend(SchemaDelta(Operation.ADD_TABLE, name) for name in sorted(added_tables))
    for name in sorted(old_tables.keys() & new_tables.keys()):
        deltas.extend(diff_table(old_tables[name], new_tables[name]))
    old_families, new_families = old.get("families", {}), new.get("families", {})
    for category in sorted(old_families.keys() | new_families.keys()):
        was = set(old_families.get(category, {}).get("events", []))
        now = set(new_families.get(category, {}).get("events", []))
        deltas.extend(SchemaDelta(Operation.DROP_EVENT_NAME, category, name) for name in sorted(was - now))
        deltas.extend(SchemaDelta(Operation.ADD_EVENT_NAME, category, name) for name in sorted(now - was))
    return SchemaDiff(tuple(deltas), added_tables)


def lock_path() -> Path:
    return Path(str(resources.files("schema").joinpath(LOCK_FILE)))


def load_lock(path: Path | None = None) -> dict[str, Any]:
    """The committed snapshot; an absent lock is an empty schema (everything is additive)."""
    target = path or lock_path()
    if not target.exists():
        return {"tables": {}, "families": {}}
    data: dict[str, Any] = json.loads(target.read_text())
    return data


def write_lock(path: Path | None = None) -> Path:
    target = path or lock_path()
    target.write_text(json.dumps(schema_snapshot(), indent=2, sort_keys=True) + "\n")
    return target


def diff_against_lock(path: Path | None = None) -> SchemaDiff:
    """What the models change relative to the committed lock."""
    return diff_snapshots(load_lock(path), schema_snapshot())
