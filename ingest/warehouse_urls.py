"""What a WAREHOUSE_DATABASE_URL may look like, and which warehouse it names.

Apart from the ``Settings`` model so that the rules of a URL (which schemes, which query
parameters, how credentials are written) are plain functions the model's validators call, next
to the ``bigquery://`` parser the BigQuery writer shares. The Snowflake parser is imported when a
Snowflake URL is checked: importing ``ingest.writers`` at module level would import the model back.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from schema.contract import BIGQUERY_SCHEME, DUCKDB_SCHEME, POSTGRES_SCHEMES, SNOWFLAKE_SCHEME
from schema.exceptions import IdentifierError
from schema.identifiers import identifier, project_id

Warehouse = Literal["postgres", "duckdb", "bigquery", "snowflake"]


def check_database_url(value: str | None) -> str | None:
    """``value`` if it is a URL the service can open (empty means unset); ``ValueError`` saying why not."""
    schemes = (*POSTGRES_SCHEMES, DUCKDB_SCHEME, BIGQUERY_SCHEME, SNOWFLAKE_SCHEME)
    if value and not value.startswith(schemes):
        raise ValueError("expected a postgresql://, postgres://, bigquery://, duckdb:/// or snowflake:// URL")
    if value and value.startswith(BIGQUERY_SCHEME):
        bigquery_url(value)
    if value and value.startswith(SNOWFLAKE_SCHEME):
        from ingest.writers.snowflake_url import parse_url

        parse_url(value)
    if value and value.startswith(DUCKDB_SCHEME) and "?" in value:
        raise ValueError("a duckdb:/// URL takes no query parameters")
    # libpq ends the user info at the first @ and reads the rest of the password as the host,
    # which its error message then prints: refuse it here, before anything connects.
    if value and value.startswith(POSTGRES_SCHEMES) and urlsplit(value).netloc.count("@") > 1:
        raise ValueError("an @ in the user name or password must be percent-encoded as %40")
    return value or None


def warehouse_of(database_url: str | None) -> Warehouse:
    """The warehouse a (checked) URL names; no URL is the embedded DuckDB file."""
    if database_url and database_url.startswith(POSTGRES_SCHEMES):
        return "postgres"
    if database_url and database_url.startswith(BIGQUERY_SCHEME):
        return "bigquery"
    if database_url and database_url.startswith(SNOWFLAKE_SCHEME):
        return "snowflake"
    return "duckdb"


def bigquery_url(url: str) -> tuple[str, str | None]:
    """``bigquery://PROJECT/DATASET`` -> (project, dataset or None), validated."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError("bigquery://PROJECT/DATASET takes no query parameters")
    dataset = parts.path.strip("/") or None
    try:
        return project_id(parts.netloc), identifier(dataset, "dataset") if dataset else None
    except IdentifierError as error:
        raise ValueError(str(error)) from None
