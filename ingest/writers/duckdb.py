"""DuckDB writer: the embedded default warehouse (a file under the data directory).

DuckDB's ``executemany`` inserts about a thousand rows a second, so event rows travel as a CSV
file that DuckDB's own reader loads (tens of thousands a second) with ``INSERT ... SELECT ... ON
CONFLICT DO NOTHING``. The dead-letter table has a BLOB column, which CSV cannot carry faithfully,
and is low-volume: its rows go through ``executemany``.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import duckdb

from ingest.config import ConfigError
from ingest.writers.base import EncodedRow, ObservedColumn, ObservedTable, RowEncoder, Writer, plain
from ingest.writers.duckdb_rows import NEW_LINE, encode_row
from schema import DEAD_LETTER_TABLE, TableSpec
from schema.contract import DUCKDB_SCHEME
from schema.dialects import DUCKDB as dialect
from schema.dialects import Dialect
from schema.dialects._sql import string_literal
from schema.types import LogicalType

SCHEME = DUCKDB_SCHEME
# DuckDB's read_csv max_line_size default: the staged CSV's line limit never goes below it.
READER_MAX_LINE = 2_097_152
_NEW_LINE_SQL = string_literal(NEW_LINE.encode("unicode_escape").decode("ascii"))


def database_path(url: str) -> str:
    """``duckdb:///abs/path`` -> ``/abs/path``; ``duckdb:///:memory:`` -> ``:memory:``."""
    path = url.removeprefix(SCHEME)
    return ":memory:" if path.lstrip("/") == ":memory:" else path


class DuckDBWriter(Writer):
    name = "duckdb"
    dialect: ClassVar[Dialect] = dialect

    def __init__(self, url: str, namespace: str) -> None:
        super().__init__(url, namespace)
        self.path = database_path(url)
        if self.path != ":memory:" and not Path(self.path).parent.is_dir():
            # Never created here: a mistyped path would otherwise grow a new, empty warehouse.
            raise ConfigError(
                f"WAREHOUSE_DATABASE_URL: the directory {Path(self.path).parent} does not exist"
            )
        self._conn: duckdb.DuckDBPyConnection | None = None
        # A DuckDB connection is not safe for concurrent use: the sink's writer thread, readiness
        # probes and the CLI share it through this lock.
        self._lock = threading.Lock()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            self._conn = duckdb.connect(self.path)
        return self._conn

    def row_encoder(self) -> RowEncoder:
        return encode_row

    def write(self, batch: Mapping[TableSpec, Sequence[EncodedRow]]) -> dict[str, int]:
        with self._lock:
            conn = self._connection()
            counts: dict[str, int] = {}
            conn.begin()
            try:
                for spec, rows in batch.items():
                    if rows:
                        load = self._load_dead_letters if spec is DEAD_LETTER_TABLE else self._load_csv
                        counts[spec.name] = load(conn, spec, rows)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            return counts

    def _insert_from(self, conn: duckdb.DuckDBPyConnection, spec: TableSpec, source: str) -> int:
        columns = ", ".join(dialect.quote(name) for name in spec.column_names)
        result = conn.execute(
            f"INSERT INTO {dialect.qualified(spec.name, self.namespace)} ({columns}) "
            f"SELECT {columns} FROM {source} ON CONFLICT DO NOTHING"
        ).fetchone()
        return int(result[0]) if result else 0

    def _load_csv(self, conn: duckdb.DuckDBPyConnection, spec: TableSpec, rows: Sequence[EncodedRow]) -> int:
        # Empty text and NULL are both written as an empty field; every text column of an event
        # table is either nullable or has min_length >= 1 in the models, so none can be "".
        lines = [_line(spec.name, row) for row in rows]
        # The reader refuses a line past its limit (2 MB by default) though the columns take any
        # size: raised to the longest line, a valid multi-MB event is a row, not a refusal.
        max_line = max([READER_MAX_LINE, *map(len, lines)]) + 1
        fd, path = tempfile.mkstemp(prefix="ingest-", suffix=".csv")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(b"".join(lines))
            types = ", ".join(
                f"{string_literal(column.name)}: {string_literal(dialect.TYPES[column.type])}"
                for column in spec.columns
            )
            source = (
                f"read_csv({string_literal(path)}, header=false, columns={{{types}}}, quote='\"', "
                f"escape='\"', nullstr='', new_line={_NEW_LINE_SQL}, max_line_size={max_line}, "
                "auto_detect=false)"
            )
            return self._insert_from(conn, spec, source)
        finally:
            os.unlink(path)

    def _load_dead_letters(
        self, conn: duckdb.DuckDBPyConnection, spec: TableSpec, rows: Sequence[EncodedRow]
    ) -> int:
        staging = dialect.quote(f"staging_{spec.name}")
        conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} AS "
            f"SELECT * FROM {dialect.qualified(spec.name, self.namespace)} LIMIT 0"
        )
        conn.execute(f"DELETE FROM {staging}")
        placeholders = ", ".join("?" for _ in spec.columns)
        conn.executemany(f"INSERT INTO {staging} VALUES ({placeholders})", [list(row) for row in plain(rows)])
        return self._insert_from(conn, spec, staging)

    def refuses_rows(self, error: BaseException) -> bool:
        """Only DuckDB's data and constraint errors isolate rows; anything else, DuckDB's or not,
        is retried (see ``Writer.refuses_rows``)."""
        if isinstance(error, duckdb.InvalidInputException):
            # DuckDB raises this for a read-only database or a wrong statement too; only the
            # reader of the staged CSV, which holds nothing but the rows, is about their content.
            return "CSV" in str(error)
        return isinstance(error, duckdb.DataError | duckdb.IntegrityError)

    def execute(self, statements: Sequence[str]) -> None:
        with self._lock:
            conn = self._connection()
            conn.begin()
            try:
                for statement in statements:
                    conn.execute(statement)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def observe(self, spec: TableSpec) -> ObservedTable | None:
        with self._lock:
            conn = self._connection()
            types = self._canonical_types(conn)
            columns = conn.execute(
                "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [self.namespace, spec.name],
            ).fetchall()
            if not columns:
                return None
            key = conn.execute(
                "SELECT constraint_column_names FROM duckdb_constraints() "
                "WHERE schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
                [self.namespace, spec.name],
            ).fetchone()
        return ObservedTable(
            name=spec.name,
            columns=tuple(
                ObservedColumn(name, types.get(kind), kind, nullable) for name, kind, nullable in columns
            ),
            primary_key=tuple(key[0]) if key else (),
        )

    @staticmethod
    def _canonical_types(conn: duckdb.DuckDBPyConnection) -> dict[str, LogicalType]:
        mapping: dict[str, LogicalType] = {}
        for logical, name in dialect.TYPES.items():
            row = conn.execute(f"SELECT typeof(CAST(NULL AS {name}))").fetchone()
            assert row is not None
            mapping[str(row[0])] = logical
        return mapping

    def ping(self) -> None:
        with self._lock:
            self._connection().execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _line(table: str, row: EncodedRow) -> bytes:
    """A row's CSV line: encoded where it was decoded, or here (a caller with plain rows)."""
    line = row if isinstance(row, bytes) else encode_row(table, row)
    assert isinstance(line, bytes)
    return line
