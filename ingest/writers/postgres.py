"""Postgres writer (psycopg 3): binary COPY, idempotent on each table's primary key.

Fast path: COPY straight into the table. COPY is atomic, so a batch holding a key that is already
present fails as a whole with a unique violation and nothing of it lands; the batch is then
written again through the safe path, COPY into a temp table + ``INSERT ... ON CONFLICT DO
NOTHING``, which also keeps concurrent writers (two consumers during a rebalance) correct. After a
conflict the safe path is used for a while, because redelivery (a restart, a replay) conflicts in
runs. Measured in ``bench/bench_sink.py``: the fast path is what lets the sink beat a plain
COPY -> temp -> ON CONFLICT loader.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ingest.config import ConfigError
from ingest.writers.base import EncodedRow, ObservedColumn, ObservedTable, RowEncoder, Writer
from ingest.writers.postgres_rows import SIGNATURE, TRAILER, encode_row
from schema import TABLES, TableSpec
from schema.dialects import POSTGRES as dialect
from schema.dialects import Dialect
from schema.types import LogicalType

# Batches written through the safe path after a unique violation on the fast path.
SAFE_BATCHES_AFTER_CONFLICT = 16
CONNECT_TIMEOUT_S = 5


def _trusted(text: str) -> sql.SQL:
    """SQL text rendered by the schema module's dialect, whose identifiers are validated and quoted."""
    return sql.SQL(text)


# SQLSTATE classes that are about the rows written, not about the warehouse.
ROW_ERROR_CLASSES = frozenset({"22", "23"})


class PostgresWriter(Writer):
    name = "postgres"
    dialect: ClassVar[Dialect] = dialect

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__(url.replace("postgres://", "postgresql://", 1), namespace)
        try:
            conninfo_to_dict(self.url)  # libpq's own parser: unknown parameters, bad ports, syntax
        except psycopg.ProgrammingError as error:
            raise ConfigError(f"WAREHOUSE_DATABASE_URL: {error}") from None
        self._conn: psycopg.Connection[Any] | None = None
        self._safe_batches = 0
        self._lock = threading.Lock()

    # -- connection ------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._discard()
            conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True)
            try:
                for spec in TABLES:
                    conn.execute(
                        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS").format(
                            sql.Identifier(spec.name), _trusted(dialect.qualified(spec.name, self.namespace))
                        )
                    )
                conn.autocommit = False
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _discard(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    # -- writing ---------------------------------------------------------------------------

    def row_encoder(self) -> RowEncoder:
        return encode_row

    def write(self, batch: Mapping[TableSpec, Sequence[EncodedRow]]) -> dict[str, int]:
        with self._lock:
            try:
                conn = self._connection()
                if self._safe_batches == 0:
                    try:
                        return self._write(conn, batch, safe=False)
                    except psycopg.errors.UniqueViolation:
                        self._safe_batches = SAFE_BATCHES_AFTER_CONFLICT
                self._safe_batches -= 1
                return self._write(conn, batch, safe=True)
            except psycopg.Error:
                if self._conn is not None and (self._conn.broken or self._conn.closed):
                    self._discard()
                raise

    def _write(
        self, conn: psycopg.Connection[Any], batch: Mapping[TableSpec, Sequence[EncodedRow]], safe: bool
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        with conn.transaction():
            for spec, rows in batch.items():
                if not rows:
                    continue
                target = _trusted(dialect.qualified(spec.name, self.namespace))
                staging = sql.SQL("pg_temp.{}").format(sql.Identifier(spec.name)) if safe else target
                columns = sql.SQL(", ").join(map(sql.Identifier, spec.column_names))
                with conn.cursor() as cursor:
                    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(staging, columns)
                    with cursor.copy(copy_sql) as copy:
                        copy.write(_copy_data(spec.name, rows))
                    if not safe:
                        counts[spec.name] = len(rows)
                        continue
                    cursor.execute(
                        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) DO NOTHING").format(
                            target,
                            columns,
                            columns,
                            staging,
                            sql.SQL(", ").join(map(sql.Identifier, spec.primary_key)),
                        )
                    )
                    counts[spec.name] = cursor.rowcount
        return counts

    def refuses_rows(self, error: BaseException) -> bool:
        """Only a server error about the rows (SQLSTATE class 22 data exception, 23 integrity
        violation) isolates rows into dead letters. Anything else is retried: unreachable,
        read-only after a failover, permission denied, a column this image expects that the table
        lacks yet, an error without a SQLSTATE (a bad URL, a client-side failure)."""
        if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
            return False
        sqlstate = error.sqlstate if isinstance(error, psycopg.Error) else None
        return sqlstate is not None and sqlstate[:2] in ROW_ERROR_CLASSES

    # -- schema ----------------------------------------------------------------------------

    def execute(self, statements: Sequence[str]) -> None:
        with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S) as conn, conn.transaction():
            for statement in statements:
                conn.execute(statement.encode())

    def observe(self, spec: TableSpec) -> ObservedTable | None:
        qualified = dialect.qualified(spec.name, self.namespace)
        with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
            types = self._canonical_types(conn)
            columns = conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod), NOT attnotnull FROM pg_attribute "
                "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                (qualified,),
            ).fetchall()
            if not columns:
                return None
            key = conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary "
                "ORDER BY array_position(i.indkey::int[], a.attnum::int)",
                (qualified,),
            ).fetchall()
        return ObservedTable(
            name=spec.name,
            columns=tuple(
                ObservedColumn(name, types.get(kind), kind, nullable) for name, kind, nullable in columns
            ),
            primary_key=tuple(name for (name,) in key),
        )

    @staticmethod
    def _canonical_types(conn: psycopg.Connection[Any]) -> dict[str, LogicalType]:
        """The server's spelling of each dialect type (``timestamptz`` is ``timestamp with time zone``)."""
        mapping: dict[str, LogicalType] = {}
        for logical, name in dialect.TYPES.items():
            row = conn.execute("SELECT format_type(%s::regtype::oid, NULL)", (name,)).fetchone()
            assert row is not None
            mapping[str(row[0])] = logical
        return mapping

    def ping(self) -> None:
        with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        with self._lock:
            self._discard()


def _copy_data(table: str, rows: Sequence[EncodedRow]) -> bytes:
    """The whole binary COPY stream of ``rows``: encoded where they were decoded, or here."""
    return b"".join(
        (SIGNATURE, *(row if isinstance(row, bytes) else encode_row(table, row) for row in rows), TRAILER)
    )
