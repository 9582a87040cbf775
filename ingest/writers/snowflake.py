"""Snowflake writer: one staged file per batch, ``COPY`` into a session's landing table, ``MERGE``.

Snowflake does not enforce primary keys, so idempotence is the MERGE's: per batch the writer

1. replaces the session's TEMPORARY landing table (one VARIANT column; gone with the session;
   unqualified, so in the session's schema: the stand-in cannot qualify a temporary table),
2. PUTs the batch as one gzip NDJSON file into a folder of its own in the internal stage
   (``ingest/<day>/<uuid>/``: the pipes read ``<table>/`` folders, so they never see it),
3. ``COPY``s it into the landing table (``PURGE = TRUE`` removes the file once loaded),
4. per table ``MERGE``s the landing rows tagged for it ON the primary key ``WHEN NOT MATCHED THEN
   INSERT``, each column cast from the VARIANT by the dialect's ``staged_value``.

Each MERGE commits by itself: the statements are not wrapped in one transaction, because the
stand-in cannot run a MERGE inside one (see docs/ingest.md) and exactly-once does not need it.
A crash or error anywhere leaves nothing that a retry or a redelivery could land twice: a file
PUT but never loaded is never read again (the retry stages a new one), a landing table dies with
its session, and a MERGE that already ran skips every key it inserted. The sink acknowledges the
bus only after ``write`` returns, so rows are in the tables before their offsets are committed.

Privileges used (nothing more): USAGE on the warehouse, database and schema; WRITE and READ on the
stage (PUT, COPY, PURGE); CREATE TABLE on the schema (the temporary landing table); SELECT and
INSERT on the four tables (MERGE ... WHEN NOT MATCHED THEN INSERT). ``ingest provision`` creates
objects and needs an owner's role; the service never provisions Snowflake.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import snowflake.connector
from snowflake.connector import SnowflakeConnection
from snowflake.connector.errors import ProgrammingError
from snowflake.connector.network import (
    MASTER_TOKEN_EXPIRED_GS_CODE,
    MASTER_TOKEN_INVALD_GS_CODE,
    MASTER_TOKEN_NOTFOUND_GS_CODE,
    SESSION_EXPIRED_GS_CODE,
)

from ingest.config import Settings
from ingest.writers.base import EncodedRow, ObservedColumn, ObservedTable, Row, Writer, plain
from ingest.writers.snowflake_staging import (
    LANDING_TABLE,
    batch_folder,
    encoder,
    first_per_key,
    merge_statement,
)
from ingest.writers.snowflake_url import parse_url
from schema import TABLES, TableSpec
from schema.contract import mask_secrets
from schema.dialects import SNOWFLAKE as dialect
from schema.dialects import Dialect

DEFAULT_STAGE = dialect.DEFAULT_STAGE
LANDED_FILE = "batch.ndjson.gz"
# Level 1: most of gzip's gain on NDJSON at a fraction of level 9's CPU (bench_snowflake prints the ratio).
GZIP_LEVEL = 1
LOGIN_TIMEOUT_S = 30
QUERY_TAG = "analytics-ingest"
# SQLSTATE classes that are about the rows written (data exception, integrity constraint).
ROW_ERROR_CLASSES = frozenset({"22", "23"})
NOT_FOUND_ERRNO = 2003
# The session is gone for good (expired and its renewal refused: 390112; "Authentication token has
# expired": 390114; the master token unknown or invalid): the connection still looks open, but
# every statement on it fails the same way, so the writer logs in again. The connector's own codes.
SESSION_GONE_ERRNOS = frozenset(
    int(code)
    for code in (
        SESSION_EXPIRED_GS_CODE,
        MASTER_TOKEN_EXPIRED_GS_CODE,
        MASTER_TOKEN_NOTFOUND_GS_CODE,
        MASTER_TOKEN_INVALD_GS_CODE,
    )
)


class RowsRefused(Exception):
    """Snowflake refused the rows of a MERGE for their content; the message is Snowflake's."""


class LoadIncomplete(Exception):
    """The COPY did not load every staged row (a file that did not arrive): retried, never isolated."""


class SnowflakeWriter(Writer):
    name = "snowflake"
    dialect: ClassVar[Dialect] = dialect

    def __init__(self, url: str, namespace: str, stage: str = DEFAULT_STAGE) -> None:
        super().__init__(url, namespace)
        self.target = parse_url(url)
        self.stage = stage
        self._encoders = {spec.name: encoder(spec) for spec in TABLES}
        self._merges = {spec.name: merge_statement(spec, namespace) for spec in TABLES}
        self._conn: SnowflakeConnection | None = None
        self._ping_conn: SnowflakeConnection | None = None
        # One connection is not used by two threads at once: the sink's writer thread, the CLI
        # and readiness probes (which have a connection of their own) each take a lock.
        self._lock = threading.Lock()
        self._ping_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Writer:
        return cls(settings.warehouse_url, settings.warehouse_namespace, settings.snowflake_stage)

    def __repr__(self) -> str:
        shown = mask_secrets(self.url)
        return f"SnowflakeWriter({shown!r}, namespace={self.namespace!r}, stage={self.stage!r})"

    # -- connection ------------------------------------------------------------------------

    def _connect(self) -> SnowflakeConnection:
        args: dict[str, Any] = {"login_timeout": LOGIN_TIMEOUT_S, **self.target.connect_args()}
        return snowflake.connector.connect(
            **args,
            schema=dialect.name(self.namespace),
            session_parameters={"QUERY_TAG": QUERY_TAG},
        )

    def _connection(self) -> SnowflakeConnection:
        if self._conn is None or self._conn.is_closed():
            self._conn = self._connect()
        return self._conn

    def _discard(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    # -- writing ---------------------------------------------------------------------------

    def write(self, batch: Mapping[TableSpec, Sequence[EncodedRow]]) -> dict[str, int]:
        tables = {spec: first_per_key(spec, plain(rows)) for spec, rows in batch.items() if rows}
        if not tables:
            return {}
        with self._lock:
            try:
                return self._write(self._connection(), tables)
            except (RowsRefused, ProgrammingError) as error:
                if isinstance(error, ProgrammingError) and error.errno in SESSION_GONE_ERRNOS:
                    self._discard()  # the retry logs in again instead of reusing the dead session
                raise  # else the session is fine: a statement failed
            except Exception:
                self._discard()  # the session may be gone: the next batch logs in again
                raise

    def _write(self, conn: SnowflakeConnection, tables: dict[TableSpec, list[Row]]) -> dict[str, int]:
        lines = [self._encoders[spec.name](row) for spec, rows in tables.items() for row in rows]
        data = gzip.compress(b"".join(lines), GZIP_LEVEL)
        stage = f"@{dialect.qualified(self.stage, self.namespace)}/{batch_folder()}/"
        landing = dialect.quote(LANDING_TABLE)
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE OR REPLACE TEMPORARY TABLE {landing} ("V" VARIANT)')
            cursor.execute(
                f"PUT file://{LANDED_FILE} {stage} AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP",
                file_stream=io.BytesIO(data),
            )
            cursor.execute(f"COPY INTO {landing} FROM {stage} FILE_FORMAT = (TYPE = JSON) PURGE = TRUE")
            loaded = sum(int(row[3] or 0) for row in cursor.fetchall() if row[1] == "LOADED")
            if loaded != len(lines):
                raise LoadIncomplete(f"COPY loaded {loaded} of the {len(lines)} staged rows from {stage}")
            counts: dict[str, int] = {}
            for spec in tables:
                try:
                    cursor.execute(self._merges[spec.name])
                except ProgrammingError as error:
                    if (error.sqlstate or "")[:2] in ROW_ERROR_CLASSES:
                        raise RowsRefused(f"{spec.name}: {error.msg} (SQLSTATE {error.sqlstate})") from error
                    raise
                result = cursor.fetchone()
                counts[spec.name] = int(result[0]) if result else 0
        return counts

    def refuses_rows(self, error: BaseException) -> bool:
        """Only a MERGE that Snowflake refused with a data or integrity error (SQLSTATE class 22,
        23: a value a column cannot hold, a NULL in a NOT NULL column) isolates rows. Anything
        else is retried: unreachable, login or token failures, a suspended or missing warehouse,
        a missing object, missing privileges, a PUT or COPY that failed, the connector's errors."""
        return isinstance(error, RowsRefused)

    # -- schema ----------------------------------------------------------------------------

    def provision(self) -> list[str]:
        """Schema, stage, file format (for the pipes) and tables, each if missing; not the database,
        which belongs to the account's administrators (the stack names an existing one)."""
        namespace, *tables = dialect.statements(self.namespace)
        statements = [
            namespace,
            dialect.create_stage(self.stage, self.namespace),
            dialect.create_file_format(self.stage, self.namespace),
            *tables,
        ]
        self.execute(statements)
        return statements

    def execute(self, statements: Sequence[str]) -> None:
        """Run statements in order. Snowflake commits each DDL statement by itself, so a failure
        leaves the earlier ones applied; every statement the schema module renders is idempotent."""
        with self._lock, self._connection().cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def observe(self, spec: TableSpec) -> ObservedTable | None:
        qualified = dialect.qualified(spec.name, self.namespace)
        with self._lock, self._connection().cursor() as cursor:
            try:
                cursor.execute(f"DESCRIBE TABLE {qualified}")
            except ProgrammingError as error:
                if error.errno == NOT_FOUND_ERRNO:
                    return None
                raise
            described = _records(cursor)
            cursor.execute(f"SHOW PRIMARY KEYS IN TABLE {qualified}")
            keys = sorted(_records(cursor), key=lambda key: int(key["key_sequence"]))
        return ObservedTable(
            name=spec.name,
            columns=tuple(
                ObservedColumn(
                    str(c["name"]).lower(), _LOGICAL.get(_declared(c["type"])), c["type"], c["null?"] == "Y"
                )
                for c in described
            ),
            primary_key=tuple(str(key["column_name"]).lower() for key in keys),
        )

    def ping(self) -> None:
        """``SELECT 1`` on a connection of its own: it needs no running warehouse (no credits)."""
        with self._ping_lock:
            try:
                if self._ping_conn is None or self._ping_conn.is_closed():
                    self._ping_conn = self._connect()
                with self._ping_conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except Exception:
                if self._ping_conn is not None:
                    with contextlib.suppress(Exception):
                        self._ping_conn.close()
                self._ping_conn = None
                raise

    def close(self) -> None:
        with self._lock:
            self._discard()
        with self._ping_lock:
            if self._ping_conn is not None:
                with contextlib.suppress(Exception):
                    self._ping_conn.close()
                self._ping_conn = None


# DESCRIBE TABLE spells out the defaults a declaration leaves implicit (Snowflake's documented
# maxima and precision); a temporary probe table would read them from the server, but the
# stand-in does not DESCRIBE temporary tables.
_IMPLICIT = {
    "VARCHAR(16777216)": "VARCHAR",
    "VARCHAR(134217728)": "VARCHAR",
    "TIMESTAMP_TZ(9)": "TIMESTAMP_TZ",
    "BINARY(8388608)": "BINARY",
    "BINARY(67108864)": "BINARY",
}
_LOGICAL = {spelling: logical for logical, spelling in dialect.TYPES.items()}


def _declared(described: str) -> str:
    return _IMPLICIT.get(described, described)


def _records(cursor: Any) -> list[dict[str, Any]]:
    names = [column.name.lower() for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
