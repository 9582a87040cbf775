"""Dialect renderers: one object per warehouse, all instances of ``Dialect``.

``POSTGRES``, ``DUCKDB``, ``BIGQUERY`` and ``SNOWFLAKE`` expose ``NAME``, ``DEFAULT_NAMESPACE``,
``TYPES`` (logical -> warehouse type), ``type_of``, ``quote``, ``qualified``, ``create_namespace``,
``create_table``, ``add_column``, ``statements`` and ``script``; warehouse-specific extras
(BigQuery schema fields, Snowflake column specs and pipe COPY) are methods of their own class.
"""

from __future__ import annotations

from schema.dialects.base import Dialect, UnknownLogicalTypeError
from schema.dialects.bigquery import BIGQUERY
from schema.dialects.duckdb import DUCKDB
from schema.dialects.postgres import POSTGRES
from schema.dialects.snowflake import SNOWFLAKE

DIALECTS: dict[str, Dialect] = {each.NAME: each for each in (POSTGRES, DUCKDB, BIGQUERY, SNOWFLAKE)}


def dialect(name: str) -> Dialect:
    """The renderer of a dialect; ValueError names the known ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; expected one of {sorted(DIALECTS)}") from None


__all__ = [
    "BIGQUERY",
    "DIALECTS",
    "DUCKDB",
    "POSTGRES",
    "SNOWFLAKE",
    "Dialect",
    "UnknownLogicalTypeError",
    "dialect",
]
