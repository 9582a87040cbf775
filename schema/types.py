"""Logical column types: the vocabulary every dialect renderer maps from."""

from enum import StrEnum


class LogicalType(StrEnum):
    """A warehouse-neutral column type; each dialect module owns its mapping of these.

    ``bytes`` is for the dead-letter table only (docs/contract.md): it keeps raw bodies that
    are not valid UTF-8 (Postgres ``bytea``, BigQuery ``BYTES``, Snowflake ``BINARY``, DuckDB ``BLOB``).
    """

    UUID = "uuid"
    TIMESTAMP = "timestamp"
    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    JSON = "json"
    BYTES = "bytes"
