"""Configuration of the ingest service: the environment variables of docs/contract.md, or the stack outputs.

Every field is read from the environment variable of the same (upper-case) name, so an error can
name the variable an operator has to fix, and say what it accepts, instead of a Python field name.
This module declares the variables; the rules of a database URL are in ``warehouse_urls``, the
error and its message in ``errors``, and reading the stack outputs in ``stack_outputs``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest.errors import ConfigError, describe_invalid_settings
from ingest.stack_outputs import apply_contract, read_contract
from ingest.warehouse_urls import Warehouse, bigquery_url, check_database_url, warehouse_of
from schema.contract import DUCKDB_SCHEME, SINK_BATCH_SIZE, SINK_FLUSH_INTERVAL_MS, BusDriver
from schema.dialects import BIGQUERY as bigquery_dialect
from schema.dialects import DUCKDB as duckdb_dialect
from schema.dialects import POSTGRES as postgres_dialect
from schema.dialects import SNOWFLAKE as snowflake_dialect
from schema.exceptions import IdentifierError
from schema.identifiers import identifier

# Importable from here as before: most of the service imports them from this module.
__all__ = [
    "EMBEDDED_DATABASE_FILE",
    "ConfigError",
    "Settings",
    "apply_contract",
    "bigquery_url",
    "load_settings",
    "read_contract",
]

EMBEDDED_DATABASE_FILE = "warehouse.duckdb"


def _env(name: str, description: str, **kwargs: Any) -> Any:
    return Field(validation_alias=name, description=description, **kwargs)


class Settings(BaseSettings):
    """Everything the service reads from its environment (see docs/ingest.md for the table)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=False)

    bus_driver: BusDriver = _env("EVENT_BUS_DRIVER", "memory, kafka or pubsub", default="memory")
    kafka_topic: str | None = _env("EVENT_BUS_KAFKA_TOPIC", "a Kafka topic name", default=None)
    kafka_brokers: Annotated[list[str], NoDecode] = _env(
        "KAFKA_BROKERS", "comma-separated host:port list", default_factory=list
    )
    kafka_group: str = _env("EVENT_BUS_KAFKA_GROUP", "a consumer group id", default="analytics-ingest")
    kafka_session_timeout_ms: int = _env(
        "EVENT_BUS_KAFKA_SESSION_TIMEOUT_MS",
        "milliseconds, 1000 to 300000",
        default=10_000,
        ge=1000,
        le=300_000,
    )
    # Shared with the Pulumi program's Kafka provider (config kafkaSecurityProtocol, ...).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = _env(
        "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", default="PLAINTEXT"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = _env(
        "KAFKA_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", default=None
    )
    kafka_sasl_username: str | None = _env("KAFKA_SASL_USERNAME", "a SASL user name", default=None)
    kafka_sasl_password: SecretStr | None = _env("KAFKA_SASL_PASSWORD", "a SASL password", default=None)
    pubsub_topic: str | None = _env("EVENT_BUS_PUBSUB_TOPIC", "a Pub/Sub topic id", default=None)
    pubsub_project: str | None = _env("PUBSUB_PROJECT_ID", "a Google Cloud project id", default=None)
    pubsub_subscription: str | None = _env(
        "EVENT_BUS_PUBSUB_SUBSCRIPTION", "a Pub/Sub subscription id (default <topic>-ingest)", default=None
    )
    pubsub_max_lease_s: int = _env(
        "EVENT_BUS_PUBSUB_MAX_LEASE_S",
        "seconds a pulled message stays leased while unacknowledged, 600 to 604800",
        default=86_400,
        ge=600,
        le=604_800,
    )
    database_url: str | None = _env(
        "WAREHOUSE_DATABASE_URL",
        "postgresql://..., postgres://..., bigquery://PROJECT/DATASET, duckdb:///path or "
        "snowflake://USER[:PASSWORD]@ACCOUNT/DATABASE[/SCHEMA]?warehouse=W&role=R "
        "(unset: embedded DuckDB in INGEST_DATA_DIR)",
        default=None,
    )
    namespace: str | None = _env(
        "WAREHOUSE_SCHEMA",
        "a schema name (default: analytics on Postgres, main on DuckDB, the URL's or ANALYTICS on Snowflake)",
        default=None,
    )
    snowflake_schema: str | None = _env(
        "SNOWFLAKE_SCHEMA", "a Snowflake schema (overrides the URL's)", default=None
    )
    snowflake_stage: str = _env(
        "SNOWFLAKE_STAGE",
        "a Snowflake internal stage name in the schema",
        default=snowflake_dialect.DEFAULT_STAGE,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$",
    )
    bigquery_dataset: str | None = _env(
        "BIGQUERY_DATASET", "a BigQuery dataset id (overrides the URL's dataset)", default=None
    )
    data_dir: Path = _env("INGEST_DATA_DIR", "a directory for the embedded DuckDB file", default=Path("data"))
    batch_size: int = _env("EVENT_SINK_BATCH_SIZE", SINK_BATCH_SIZE.accepts, **SINK_BATCH_SIZE.field_args())
    flush_interval_ms: int = _env(
        "EVENT_SINK_FLUSH_INTERVAL_MS", SINK_FLUSH_INTERVAL_MS.accepts, **SINK_FLUSH_INTERVAL_MS.field_args()
    )
    max_buffer_bytes: int = _env(
        "EVENT_SINK_MAX_BUFFER_BYTES",
        "bytes of raw input held before backpressure, at least 1024",
        default=32 * 1024 * 1024,
        ge=1024,
    )
    decode_workers: int | None = _env(
        "INGEST_DECODE_WORKERS", "processes, 0 to 64 (default: one per usable CPU)", default=None, ge=0, le=64
    )
    spool_dir: Path | None = _env(
        "INGEST_SPOOL_DIR",
        "a directory for the memory bus's spool (default INGEST_DATA_DIR/spool; its parent must exist)",
        default=None,
    )
    spool_max_bytes: int = _env(
        "INGEST_SPOOL_MAX_BYTES",
        "bytes accepted and not yet written that the spool holds before 503, at least 1048576",
        default=1024 * 1024 * 1024,
        ge=1024 * 1024,
    )
    shutdown_timeout_s: float = _env(
        "INGEST_SHUTDOWN_TIMEOUT_S",
        "seconds a shutdown may spend writing what was taken in, 0 to 3600",
        default=10.0,
        ge=0,
        le=3600,
    )
    host: str = _env("INGEST_HOST", "an IP address to bind, or localhost", default="127.0.0.1")
    port: int = _env("INGEST_PORT", "a TCP port, 0 to 65535", default=8080, ge=0, le=65_535)
    api_token: str | None = _env(
        "INGEST_API_TOKEN", "a non-empty bearer token (unset: no auth, loopback only)", default=None
    )
    allow_unauthenticated: bool = _env(
        "INGEST_ALLOW_UNAUTHENTICATED",
        "true to serve a non-loopback INGEST_HOST without INGEST_API_TOKEN (something else guards it)",
        default=False,
    )
    metrics_public: bool = _env(
        "INGEST_METRICS_PUBLIC", "true to serve /metrics without the bearer token", default=False
    )
    max_body_bytes: int = _env(
        "INGEST_MAX_BODY_BYTES", "bytes, at least 1024", default=5 * 1024 * 1024, ge=1024
    )
    max_items_per_request: int = _env(
        "INGEST_MAX_ITEMS_PER_REQUEST", "an integer, 1 to 100000", default=10_000, ge=1, le=100_000
    )
    body_timeout_s: float = _env(
        "INGEST_BODY_TIMEOUT_S", "seconds to receive a request body, 0.1 to 600", default=30.0, ge=0.1, le=600
    )

    @field_validator("kafka_brokers", mode="before")
    @classmethod
    def _split_brokers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [broker.strip() for broker in value.split(",") if broker.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return check_database_url(value)

    @field_validator(
        "kafka_topic",
        "pubsub_topic",
        "pubsub_project",
        "namespace",
        "bigquery_dataset",
        "snowflake_schema",
    )
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("namespace")
    @classmethod
    def _namespace_is_an_identifier(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                identifier(value, "schema name")
            except IdentifierError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("api_token")
    @classmethod
    def _token_not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "an empty token would turn authentication off; set a token or unset the variable"
            )
        return value

    @field_validator("host")
    @classmethod
    def _host_is_an_address(cls, value: str) -> str:
        if value != "localhost":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError("expected an IP address (0.0.0.0, 127.0.0.1, ::) or localhost") from None
        return value

    @model_validator(mode="after")
    def _bus_complete(self) -> Settings:
        if self.bus_driver == "kafka" and not (self.kafka_topic and self.kafka_brokers):
            raise ValueError("EVENT_BUS_DRIVER=kafka needs EVENT_BUS_KAFKA_TOPIC and KAFKA_BROKERS")
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_MECHANISM, "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if self.bus_driver == "pubsub" and not (self.pubsub_topic and self.pubsub_project):
            raise ValueError("EVENT_BUS_DRIVER=pubsub needs EVENT_BUS_PUBSUB_TOPIC and PUBSUB_PROJECT_ID")
        return self

    @property
    def warehouse(self) -> Warehouse:
        return warehouse_of(self.database_url)

    @property
    def warehouse_url(self) -> str:
        """The URL the writer opens: the configured one, or the embedded DuckDB file."""
        return self.database_url or f"{DUCKDB_SCHEME}/{(self.data_dir / EMBEDDED_DATABASE_FILE).resolve()}"

    @property
    def warehouse_namespace(self) -> str:
        if self.namespace:
            return self.namespace
        if self.warehouse == "bigquery" and self.database_url:
            return (
                self.bigquery_dataset
                or bigquery_url(self.database_url)[1]
                or bigquery_dialect.DEFAULT_NAMESPACE
            )
        if self.warehouse == "postgres":
            return postgres_dialect.DEFAULT_NAMESPACE
        if self.warehouse == "snowflake":
            from ingest.writers.snowflake_url import parse_url

            url_schema = parse_url(self.warehouse_url).schema
            return self.snowflake_schema or url_schema or snowflake_dialect.DEFAULT_NAMESPACE
        return duckdb_dialect.DEFAULT_NAMESPACE

    @property
    def spool_path(self) -> Path:
        return self.spool_dir or self.data_dir / "spool"

    @property
    def loopback(self) -> bool:
        return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback

    def check_serving(self) -> None:
        """What ``serve`` needs besides valid values: no unauthenticated API on a network unless
        the operator says something else guards it."""
        if not self.loopback and self.api_token is None and not self.allow_unauthenticated:
            raise ConfigError(
                f"INGEST_HOST={self.host} serves beyond this machine without INGEST_API_TOKEN; set a "
                "token, or INGEST_ALLOW_UNAUTHENTICATED=true if something else (e.g. Cloud Run IAM) "
                "guards the service"
            )

    @property
    def pubsub_subscription_id(self) -> str | None:
        if self.pubsub_subscription:
            return self.pubsub_subscription
        return f"{self.pubsub_topic}-ingest" if self.pubsub_topic else None


def load_settings(contract: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment; with ``contract``, the bus and namespace come from the stack.

    The stack outputs are the deployed truth for what they declare (bus, namespace); secrets such
    as the database URL and the API token never are outputs, so they always come from the
    environment. ``overrides`` (by variable name) are for tests and the CLI.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe_invalid_settings(error, Settings.model_fields.values())) from None
    if contract is None:
        return settings
    return apply_contract(settings, read_contract(contract))
