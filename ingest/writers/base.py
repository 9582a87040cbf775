"""The one small interface every warehouse writer implements (Postgres, DuckDB; later BigQuery,
Snowflake as peers), and the values that cross it.

A writer knows its warehouse's SQL and client library and nothing about buses, batching or
retries: the sink hands it whole batches and decides what to do when a write fails.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from schema import TABLES, TableSpec
from schema.dialects import Dialect
from schema.types import LogicalType

if TYPE_CHECKING:
    from ingest.config import Settings

Row = tuple[Any, ...]
# A row as the writer's encoder made it where it was decoded (Postgres: bytes of binary COPY), or
# as ``schema.rows`` built it when the writer has no encoder.
EncodedRow = Row | bytes
# (table name, row) -> the row as ``write`` takes it. A module-level function, so that it pickles by
# name into the decode worker processes (``ingest.decoding``).
RowEncoder = Callable[[str, Row], EncodedRow]


def plain(rows: Sequence[EncodedRow]) -> Sequence[Row]:
    """The rows of a writer without a row encoder: tuples, as ``schema.rows`` built them."""
    if any(isinstance(row, bytes) for row in rows):
        raise TypeError("encoded rows reached a writer without a row encoder")
    return cast(Sequence[Row], rows)


@dataclass(frozen=True)
class ObservedColumn:
    """A column as the warehouse reports it; ``type`` is None for a type the schema never uses."""

    name: str
    type: LogicalType | None
    warehouse_type: str
    nullable: bool


@dataclass(frozen=True)
class ObservedTable:
    """A table as it exists in the warehouse (what ``ingest check`` compares to the schema)."""

    name: str
    columns: tuple[ObservedColumn, ...]
    primary_key: tuple[str, ...]


class Writer(ABC):
    """Writes batches idempotently on each table's primary key, one transaction per batch.

    ``write`` either commits every row of the batch (rows whose key is already present are
    skipped) or raises and commits nothing; the sink retries or isolates bad rows from there.
    """

    name: ClassVar[str]
    # The schema module's renderer for this warehouse: all DDL comes from it.
    dialect: ClassVar[Dialect]

    def __init__(self, url: str, namespace: str) -> None:
        self.url = url
        self.namespace = namespace

    @classmethod
    def from_settings(cls, settings: Settings) -> Writer:
        """The writer ``settings`` configure; a writer with settings of its own overrides this."""
        return cls(settings.warehouse_url, settings.warehouse_namespace)

    @abstractmethod
    def write(self, batch: Mapping[TableSpec, Sequence[EncodedRow]]) -> dict[str, int]:
        """Insert the rows of every table in one transaction; return rows newly inserted per table.

        Rows come as ``row_encoder`` made them, or as plain ``Row`` tuples (a writer accepts both)."""

    def row_encoder(self) -> RowEncoder | None:
        """How rows are encoded next to validation, off the writer thread; None: plain tuples."""
        return None

    @abstractmethod
    def refuses_rows(self, error: BaseException) -> bool:
        """Whether ``error`` is the warehouse refusing the rows written for their content (a data
        or constraint error), so the sink isolates and dead-letters them.

        Everything else (unreachable, busy, read-only, permissions, a missing table or column, a
        bad configuration, an error of the client library itself) is False: the sink retries the
        same batch and acknowledges nothing, because dead-lettering then would drop good events.
        When in doubt, answer False: a retry loop is visible on ``/readyz``, a lost event is not."""

    def provision(self) -> list[str]:
        """Create the namespace and every table if missing (idempotent); return the statements run."""
        statements = self.dialect.statements(self.namespace)
        self.execute(statements)
        return statements

    def missing_tables(self) -> list[str]:
        """The schema module's tables that the warehouse lacks (readiness checks this once before
        saying ready: connecting is not enough to write)."""
        return [spec.name for spec in TABLES if self.observe(spec) is None]

    @abstractmethod
    def observe(self, spec: TableSpec) -> ObservedTable | None:
        """The table as it exists in the warehouse, or None when it does not exist."""

    @abstractmethod
    def execute(self, statements: Sequence[str]) -> None:
        """Run DDL statements in one transaction (``provision`` applies additive changes with it)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise if the warehouse cannot be reached now (readiness)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the writer may not be used afterwards."""
