"""The stack's configuration as one typed, validated value.

``Pulumi.yaml`` declares every key with its type, default and description; this model reads them
all without fallbacks (the Pulumi CLI, and the offline render, apply the defaults), so a default
lives in one place. Secrets are not fields: they are read as Pulumi secrets (``Secrets``) and
never become plain strings in the program.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from schema.contract import SINK_BATCH_SIZE, SINK_FLUSH_INTERVAL_MS, BusDriver
from schema.dialects import dialect
from schema.identifiers import identifier, project_id

PROJECT = "analytics-warehouse"

WarehouseName = Literal["postgres", "bigquery", "snowflake"]
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})

# The old guide's environment variables and the config key each one became. The ingest
# deployment sets these variables from the keys (and a few more of design.md's table).
ENV_FOR_KEY: dict[str, str] = {
    "busDriver": "EVENT_BUS_DRIVER",
    "kafkaTopic": "EVENT_BUS_KAFKA_TOPIC",
    "kafkaBrokers": "KAFKA_BROKERS",
    "kafkaGroup": "EVENT_BUS_KAFKA_GROUP",
    "pubsubTopic": "EVENT_BUS_PUBSUB_TOPIC",
    "pubsubProject": "PUBSUB_PROJECT_ID",
    "pubsubSubscription": "EVENT_BUS_PUBSUB_SUBSCRIPTION",
    "warehouseDatabaseUrl": "WAREHOUSE_DATABASE_URL",
    "eventSinkBatchSize": "EVENT_SINK_BATCH_SIZE",
    "eventSinkFlushIntervalMs": "EVENT_SINK_FLUSH_INTERVAL_MS",
    "bigqueryDataset": "BIGQUERY_DATASET",
    "snowflakeSchema": "SNOWFLAKE_SCHEMA",
    "snowflakeStage": "SNOWFLAKE_STAGE",
    "ingestApiToken": "INGEST_API_TOKEN",
}

SECRET_KEYS = ("warehouseDatabaseUrl", "postgresAdminUrl", "ingestApiToken")

# Connection settings of the explicit Snowflake provider, read from the provider's own namespace
# (``snowflake:<key>`` in the stack file) because explicit providers do not read it themselves.
SNOWFLAKE_PROVIDER_KEYS = ("organizationName", "accountName", "user", "role", "warehouse", "authenticator")
SNOWFLAKE_PROVIDER_SECRET_KEYS = ("privateKey", "privateKeyPassphrase", "password")


class ConfigError(ValueError):
    """The stack configuration is incomplete or inconsistent; the message names the key."""


class StackConfig(BaseModel):
    """Every non-secret key of Pulumi.yaml (field ``kafka_topic`` is key ``kafkaTopic``), checked
    for the combinations a stack needs, with the values the program derives from them."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    provider: WarehouseName
    bus_driver: BusDriver
    protect: bool
    postgres_schema: str
    postgres_ingest_login: str
    bigquery_dataset: str
    bigquery_location: str
    snowflake_database: str
    snowflake_schema: str
    snowflake_stage: str
    kafka_topic: str
    kafka_brokers: str
    kafka_partitions: int
    kafka_replication_factor: int
    kafka_retention_ms: int
    kafka_group: str
    pubsub_topic: str
    pubsub_project: str
    pubsub_subscription: str
    pubsub_max_delivery_attempts: int
    gcp_project: str
    gcp_region: str
    ingest_deploy: Literal["none", "cloudrun"]
    ingest_mode: Literal["service", "worker-pool"]
    ingest_image: str
    ingest_invokers: list[str]
    event_sink_batch_size: int = Field(**SINK_BATCH_SIZE.field_args())
    event_sink_flush_interval_ms: int = Field(**SINK_FLUSH_INTERVAL_MS.field_args())

    @model_validator(mode="after")
    def _complete(self) -> StackConfig:
        unset = {
            "kafkaBrokers": self.bus_driver == "kafka" and not self.brokers,
            "gcpProject": not self.gcp_project
            and (
                self.provider == "bigquery" or self.ingest_deploy == "cloudrun" or self.bus_driver == "pubsub"
            ),
            "ingestImage": self.ingest_deploy == "cloudrun" and not self.ingest_image,
        }
        missing = [key for key, is_unset in unset.items() if is_unset]
        if missing:
            raise ValueError(
                f"missing config {', '.join(missing)} for provider={self.provider}, "
                f"busDriver={self.bus_driver}, ingestDeploy={self.ingest_deploy}"
            )
        if self.ingest_deploy == "cloudrun" and self.bus_driver == "memory" and self.ingest_mode != "service":
            raise ValueError("busDriver memory receives events over HTTP only: use ingestMode service")
        if not 5 <= self.pubsub_max_delivery_attempts <= 100:
            raise ValueError("pubsubMaxDeliveryAttempts must be within 5..100 (a Pub/Sub limit)")
        public = [member for member in self.ingest_invokers if member in PUBLIC_MEMBERS]
        if public:
            raise ValueError(f"ingestInvokers must not be public ({public}); name the callers")
        identifier(self.namespace, "namespace")
        identifier(self.snowflake_stage, "snowflakeStage")
        for project in {self.gcp_project, self.pubsub_project} - {""}:
            project_id(project)
        return self

    @property
    def namespace(self) -> str:
        """The schema / dataset holding the tables: the configured one or the dialect's default."""
        configured = {
            "postgres": self.postgres_schema,
            "bigquery": self.bigquery_dataset,
            "snowflake": self.snowflake_schema,
        }[self.provider]
        return configured or dialect(self.provider).DEFAULT_NAMESPACE

    @property
    def brokers(self) -> list[str]:
        return [broker.strip() for broker in self.kafka_brokers.split(",") if broker.strip()]

    @property
    def topic(self) -> str | None:
        return {"kafka": self.kafka_topic, "pubsub": self.pubsub_topic}.get(self.bus_driver)

    @property
    def dead_letter_topic(self) -> str | None:
        return None if self.topic is None else f"{self.topic}-dead-letter"

    @property
    def snowflake_file_format(self) -> str:
        """The JSON file format the pipes read the stage's files with."""
        return f"{self.snowflake_stage}_json"

    @property
    def subscription(self) -> str:
        return self.pubsub_subscription or f"{self.pubsub_topic}-ingest"

    @property
    def pubsub_project_id(self) -> str:
        return self.pubsub_project or self.gcp_project

    @property
    def deployed(self) -> bool:
        return self.ingest_deploy == "cloudrun"


@dataclass(frozen=True)
class Secrets:
    """Secret config values as Pulumi secrets; ``None`` when the key is empty."""

    warehouse_url: pulumi.Output[str] | None
    postgres_admin_url: pulumi.Output[str] | None
    ingest_api_token: pulumi.Output[str] | None

    @property
    def admin_url(self) -> pulumi.Output[str] | None:
        return self.postgres_admin_url or self.warehouse_url


def config_keys() -> tuple[str, ...]:
    """Every key the program reads from its namespace (what Pulumi.yaml must declare)."""
    fields = tuple(str(info.alias) for info in StackConfig.model_fields.values())
    return fields + SECRET_KEYS


def _value(config: pulumi.Config, key: str, annotation: Any) -> Any:
    raw = config.get(key)
    if raw is None:
        raise ConfigError(
            f"config {PROJECT}:{key} is not set; Pulumi.yaml declares its default, so run the program "
            "through the Pulumi CLI or `python -m infra render`"
        )
    return json.loads(raw) if annotation == list[str] and isinstance(raw, str) else raw


def load_config() -> StackConfig:
    """Read and validate the stack's configuration; errors name the key that is wrong."""
    config = pulumi.Config(PROJECT)
    values = {
        str(info.alias): _value(config, str(info.alias), info.annotation)
        for info in StackConfig.model_fields.values()
    }
    try:
        return StackConfig.model_validate(values)
    except ValidationError as error:
        raise ConfigError(f"invalid stack configuration:\n{error}") from None


def load_secrets() -> Secrets:
    config = pulumi.Config(PROJECT)

    def secret(key: str) -> pulumi.Output[str] | None:
        # Read the raw value only to tell "unset" from "set": ``Config.get`` would warn on a secret.
        return config.get_secret(key) if pulumi.runtime.get_config(f"{PROJECT}:{key}") else None

    return Secrets(
        warehouse_url=secret("warehouseDatabaseUrl"),
        postgres_admin_url=secret("postgresAdminUrl"),
        ingest_api_token=secret("ingestApiToken"),
    )
