"""Warehouse writers behind one interface (``base.Writer``), chosen by the URL's scheme.

Each writer lives in its own module and imports only its own client library; this module imports
them lazily, so a Postgres deployment never loads DuckDB and the BigQuery / Snowflake writers can
join as peers (``bigquery.py``, ``snowflake.py``) with one line each below.
"""

from __future__ import annotations

from importlib import import_module

from ingest.config import ConfigError, Settings
from ingest.writers.base import ObservedColumn, ObservedTable, Row, Writer
from schema.contract import BIGQUERY_SCHEME, DUCKDB_SCHEME, POSTGRES_SCHEMES, SNOWFLAKE_SCHEME

# URL scheme prefix -> "module:class" of the writer for it.
_WRITERS: dict[str, str] = {
    **{scheme: "ingest.writers.postgres:PostgresWriter" for scheme in POSTGRES_SCHEMES},
    DUCKDB_SCHEME: "ingest.writers.duckdb:DuckDBWriter",
    BIGQUERY_SCHEME: "ingest.writers.bigquery:BigQueryWriter",
    SNOWFLAKE_SCHEME: "ingest.writers.snowflake:SnowflakeWriter",
}


def open_writer(settings: Settings) -> Writer:
    """The writer for the configured warehouse (embedded DuckDB when no URL is set)."""
    url = settings.warehouse_url
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the service's own data directory
    for scheme, target in _WRITERS.items():
        if url.startswith(scheme):
            module, _, name = target.partition(":")
            cls: type[Writer] = getattr(import_module(module), name)
            return cls.from_settings(settings)
    raise ConfigError(f"WAREHOUSE_DATABASE_URL: no writer for {url.split(':', 1)[0]}:// URLs")


__all__ = ["ObservedColumn", "ObservedTable", "Row", "Writer", "open_writer"]
