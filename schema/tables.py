"""Table specs derived from the event models: names, columns, keys, partitioning, clustering.

Column names, logical types, nullability and descriptions all come from the pydantic models:
the envelope gives the common columns, each family's base payload model its fact columns, and
``DeadLetterRecord`` the dead-letter table. Nothing here restates a type the models already say.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from schema.events import FAMILIES, Actor, Category, EventEnvelope, EventFamily
from schema.types import LogicalType


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    nullable: bool
    description: str

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.value, "nullable": self.nullable}


@dataclass(frozen=True)
class TableSpec:
    """A warehouse-neutral table: the dialect renderers turn it into DDL or provider inputs.

    ``partition_by`` is a timestamp column partitioned by day where the warehouse supports it;
    ``cluster_by`` is the clustering order (BigQuery, Snowflake); ``indexes`` get a Postgres
    btree each. ``primary_key`` is also the dedup key the ingest service writes idempotently on.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    partition_by: str
    cluster_by: tuple[str, ...]
    indexes: tuple[str, ...]
    category: Category | None = None

    def __post_init__(self) -> None:
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names in {names}")
        for group in (self.primary_key, (self.partition_by,), self.cluster_by, self.indexes):
            missing = [name for name in group if name not in names]
            if missing:
                raise ValueError(f"table {self.name}: unknown columns {missing}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name!r}")

    def snapshot(self) -> dict[str, Any]:
        """The parts of the table that deployed warehouses depend on (what the lock records)."""
        return {
            "name": self.name,
            "columns": [column.snapshot() for column in self.columns],
            "primary_key": list(self.primary_key),
            "partition_by": self.partition_by,
            "cluster_by": list(self.cluster_by),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> TableSpec:
        """Rebuild a spec from a lock or state snapshot (descriptions and indexes are not kept)."""
        return cls(
            name=data["name"],
            description="",
            columns=tuple(
                Column(c["name"], LogicalType(c["type"]), bool(c["nullable"]), "") for c in data["columns"]
            ),
            primary_key=tuple(data["primary_key"]),
            partition_by=data["partition_by"],
            cluster_by=tuple(data["cluster_by"]),
            indexes=(),
        )


_PYTHON_TYPES: dict[Any, LogicalType] = {
    str: LogicalType.TEXT,
    int: LogicalType.INTEGER,
    float: LogicalType.FLOAT,
    UUID: LogicalType.UUID,
    datetime: LogicalType.TIMESTAMP,
    AwareDatetime: LogicalType.TIMESTAMP,
    bytes: LogicalType.BYTES,
    dict: LogicalType.JSON,
}


def _logical(annotation: Any, where: str) -> tuple[LogicalType, bool]:
    """Map a field annotation to (logical type, nullable); Optional[X] is nullable X."""
    nullable = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        nullable = len(members) < len(typing.get_args(annotation))
        if len(members) != 1:
            raise TypeError(f"{where}: a column needs one type, got {annotation!r}")
        annotation = members[0]
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    key = typing.get_origin(annotation) or annotation
    if key not in _PYTHON_TYPES:
        raise TypeError(f"{where}: no logical type for {annotation!r}")
    return _PYTHON_TYPES[key], nullable


def _field_column(name: str, info: FieldInfo, where: str, *, nullable: bool | None = None) -> Column:
    logical, optional = _logical(info.annotation, where)
    return Column(
        name=name,
        type=logical,
        nullable=optional if nullable is None else nullable,
        description=info.description or "",
    )


# How the envelope lands in columns: (column name, field of a model, reader of an event).
# ``received_at`` is not on the wire: the ingest service stamps it.
Reader = Callable[[EventEnvelope], Any]
_ENVELOPE = EventEnvelope.model_fields
_ACTOR = Actor.model_fields


def _actor_attr(attr: str) -> Reader:
    def read(event: EventEnvelope) -> Any:
        return None if event.actor is None else getattr(event.actor, attr)

    return read


COMMON_COLUMNS: tuple[tuple[Column, Reader | None], ...] = (
    (_field_column("event_id", _ENVELOPE["event_id"], "event_id"), attrgetter("event_id")),
    (_field_column("event_name", _ENVELOPE["name"], "name"), attrgetter("name")),
    (_field_column("occurred_at", _ENVELOPE["occurred_at"], "occurred_at"), attrgetter("occurred_at")),
    (
        Column("received_at", LogicalType.TIMESTAMP, False, "When the ingest service received the event."),
        None,
    ),
    (_field_column("source", _ENVELOPE["source"], "source"), attrgetter("source")),
    (
        _field_column("schema_version", _ENVELOPE["schema_version"], "schema_version"),
        attrgetter("schema_version"),
    ),
    (_field_column("actor_type", _ACTOR["type"], "actor.type", nullable=True), _actor_attr("type")),
    (_field_column("actor_id", _ACTOR["id"], "actor.id", nullable=True), _actor_attr("id")),
    (_field_column("context", _ENVELOPE["context"], "context"), None),
    (
        Column("payload", LogicalType.JSON, False, "The whole payload as received, unknown fields included."),
        None,
    ),
)

PRIMARY_KEY = ("event_id",)
PARTITION_COLUMN = "occurred_at"


def fact_columns(family: EventFamily) -> tuple[Column, ...]:
    """The family's fact columns: the fields of its base payload model, in declaration order."""
    return tuple(
        _field_column(name, info, f"{family.payload.__name__}.{name}")
        for name, info in family.payload.model_fields.items()
    )


def event_table(family: EventFamily) -> TableSpec:
    return TableSpec(
        name=family.table,
        description=family.description,
        columns=tuple(column for column, _ in COMMON_COLUMNS) + fact_columns(family),
        primary_key=PRIMARY_KEY,
        partition_by=PARTITION_COLUMN,
        cluster_by=family.cluster_by,
        indexes=family.indexed,
        category=family.category,
    )


class DeadLetterRecord(BaseModel):
    """Input that failed validation, kept whole: the raw bytes are stored even when not UTF-8.

    ``dead_letter_id`` is derived by the writer from where the input came from and its bytes, so
    that redelivering the same bad input (a Kafka replay, a second backfill) lands it once.
    """

    model_config = ConfigDict(frozen=True)

    dead_letter_id: UUID = Field(description="Deterministic id of this rejected input.")
    received_at: datetime = Field(description="When the ingest service received the input.")
    origin: str = Field(
        description="Where it came from: http, kafka:topic/partition/offset, replay:file:line."
    )
    category: str | None = Field(None, description="Category claimed by the input, if readable.")
    event_id: str | None = Field(None, description="event_id claimed by the input, if readable.")
    error_field: str | None = Field(None, description="Field of the first validation issue.")
    error_rule: str = Field(description="Rule of the first validation issue.")
    error: str = Field(description="Every validation issue: field, rule and value (truncated).")
    raw_body: bytes = Field(description="The input exactly as received.")


DEAD_LETTER_TABLE = TableSpec(
    name="analytics_dead_letter_events",
    description="Input that failed validation: raw body, error, origin and time.",
    columns=tuple(
        _field_column(name, info, f"DeadLetterRecord.{name}")
        for name, info in DeadLetterRecord.model_fields.items()
    ),
    primary_key=("dead_letter_id",),
    partition_by="received_at",
    cluster_by=("origin", "error_rule"),
    indexes=("event_id", "error_rule"),
)

EVENT_TABLES: dict[Category, TableSpec] = {family.category: event_table(family) for family in FAMILIES}
TABLES: tuple[TableSpec, ...] = (*EVENT_TABLES.values(), DEAD_LETTER_TABLE)


def table_for(category: str | Category) -> TableSpec:
    """The event table of a category."""
    return EVENT_TABLES[Category(category)]


def tables_by_name(specs: Iterable[TableSpec] = TABLES) -> dict[str, TableSpec]:
    return {spec.name: spec for spec in specs}
