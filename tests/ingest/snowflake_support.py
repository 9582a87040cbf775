"""Reading the Snowflake stand-in back in tests, through the real connector (not the writer)."""

from __future__ import annotations

from typing import Any

import snowflake.connector

from ingest.writers import open_writer
from ingest.writers.snowflake_url import parse_url
from schema import EVENT_TABLES, TABLES, TableSpec
from schema.dialects import SNOWFLAKE as dialect
from tests.ingest.support import settings


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` in the database and schema ``url`` names (a session of its own)."""
    target = parse_url(url)
    conn = snowflake.connector.connect(**target.connect_args(), schema=target.schema)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    finally:
        conn.close()


def provision_unenforced(url: str) -> None:
    """Provision as ``ingest provision`` does, then recreate each table without its PRIMARY KEY.

    Snowflake records a primary key but does not enforce it; fakesnow (DuckDB) enforces it, and
    answers a duplicate with an HTTP 500 that the connector retries for minutes. Without the
    constraint a duplicate the writer let through is a second row here too, as in Snowflake."""
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=url))
    try:
        writer.provision()
    finally:
        writer.close()
    for spec in TABLES:
        keyed = dialect.create_table(spec, dialect.DEFAULT_NAMESPACE)[0]
        key = f",\n  PRIMARY KEY ({', '.join(dialect.quote(c) for c in spec.primary_key)})"
        assert key in keyed, keyed
        query(url, f"DROP TABLE {table(spec)}")
        query(url, keyed.replace(key, ""))


def table(spec: TableSpec) -> str:
    return dialect.qualified(spec.name, dialect.DEFAULT_NAMESPACE)


def count(url: str, spec: TableSpec) -> int:
    return int(query(url, f"SELECT COUNT(*) FROM {table(spec)}")[0][0])


def event_ids(url: str) -> list[str]:
    """Every stored event_id, duplicates kept (Snowflake does not enforce the primary key)."""
    union = " UNION ALL ".join(f'SELECT "EVENT_ID" FROM {table(spec)}' for spec in EVENT_TABLES.values())
    return [str(event_id) for (event_id,) in query(url, union)]


def event_rows(url: str) -> int:
    return sum(count(url, spec) for spec in EVENT_TABLES.values())
