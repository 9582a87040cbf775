"""The stack's configuration as one typed, validated value.

``Pulumi.yaml`` declares every key with its type, default and description; this model reads them
all without fallbacks (the Pulumi CLI, and the offline render, apply the defaults), so a default
lives in one place. Secrets are not fields: they are read as Pulumi secrets (``Secrets``) and
never become plain strings in the program. ``infra.reading`` reads it from the Pulumi runtime.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from schema.contract import SINK_BATCH_SIZE, SINK_FLUSH_INTERVAL_MS, BusDriver
from schema.dialects import SNOWFLAKE, dialect
from schema.identifiers import identifier, project_id

PROJECT = "analytics-warehouse"

WarehouseName = Literal["postgres", "bigquery", "snowflake"]
# librdkafka's names (``security.protocol``, ``sasl.mechanism``): the ingest client takes them
# as they are, the Kafka provider through ``infra.bus.KAFKA_PROVIDER_MECHANISM``.
KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})

# The ingest service's environment variables and the config key each one comes from. The ingest
# deployment sets these variables from the keys (and the ones ``infra.environment`` derives).
ENV_FOR_KEY: dict[str, str] = {
    "busDriver": "EVENT_BUS_DRIVER",
    "kafkaTopic": "EVENT_BUS_KAFKA_TOPIC",
    "kafkaBrokers": "KAFKA_BROKERS",
    "kafkaGroup": "EVENT_BUS_KAFKA_GROUP",
    "kafkaSecurityProtocol": "KAFKA_SECURITY_PROTOCOL",
    "kafkaSaslMechanism": "KAFKA_SASL_MECHANISM",
    "kafkaSaslUsername": "KAFKA_SASL_USERNAME",
    "kafkaSaslPassword": "KAFKA_SASL_PASSWORD",
    "pubsubTopic": "EVENT_BUS_PUBSUB_TOPIC",
    "pubsubProject": "PUBSUB_PROJECT_ID",
    "pubsubSubscription": "EVENT_BUS_PUBSUB_SUBSCRIPTION",
    "warehouseDatabaseUrl": "WAREHOUSE_DATABASE_URL",
    "postgresSchema": "WAREHOUSE_SCHEMA",
    "eventSinkBatchSize": "EVENT_SINK_BATCH_SIZE",
    "eventSinkFlushIntervalMs": "EVENT_SINK_FLUSH_INTERVAL_MS",
    "bigqueryDataset": "BIGQUERY_DATASET",
    "snowflakeSchema": "SNOWFLAKE_SCHEMA",
    "snowflakeStage": "SNOWFLAKE_STAGE",
    "ingestApiToken": "INGEST_API_TOKEN",
}

SECRET_KEYS = (
    "warehouseDatabaseUrl",
    "postgresAdminUrl",
    "ingestApiToken",
    "kafkaSaslPassword",
    "snowflakeIngestPrivateKey",
)

# Connection settings of the explicit Snowflake providers, read from the provider's own namespace
# (``snowflake:<key>`` in the stack file) because explicit providers do not read it themselves.
SNOWFLAKE_PROVIDER_KEYS = ("organizationName", "accountName", "user", "role", "warehouse", "authenticator")
SNOWFLAKE_PROVIDER_SECRET_KEYS = ("privateKey", "privateKeyPassphrase", "password")
# Host suffixes that only resolve inside a VPC.
PRIVATE_SUFFIXES = (".internal", ".local", ".lan", ".corp")


class ConfigError(ValueError):
    """The stack configuration is incomplete or inconsistent; the message names the key."""


def is_private_host(address: str) -> bool:
    """A broker Cloud Run can only reach through VPC egress (private IP or internal name)."""
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_private
    except ValueError:
        return host.endswith(PRIVATE_SUFFIXES)


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
    snowflake_security_role: str
    snowflake_ingest_user: str
    snowflake_ingest_warehouse: str
    kafka_topic: str
    kafka_brokers: str
    kafka_partitions: int
    kafka_replication_factor: int
    kafka_retention_ms: int
    kafka_group: str
    kafka_security_protocol: KafkaSecurityProtocol
    kafka_sasl_mechanism: KafkaSaslMechanism
    kafka_sasl_username: str
    pubsub_topic: str
    pubsub_project: str
    pubsub_subscription: str
    pubsub_max_delivery_attempts: int
    gcp_project: str
    gcp_region: str
    ingest_deploy: Literal["none", "cloudrun"]
    ingest_mode: Literal["service", "worker-pool"]
    ingest_image: str
    ingest_image_repository: str
    ingest_invokers: list[str]
    ingest_vpc_network: str
    ingest_vpc_subnetwork: str
    ingest_vpc_egress: Literal["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"]
    event_sink_batch_size: int = Field(**SINK_BATCH_SIZE.field_args())
    event_sink_flush_interval_ms: int = Field(**SINK_FLUSH_INTERVAL_MS.field_args())

    @model_validator(mode="after")
    def _complete(self) -> StackConfig:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        unset = {
            "kafkaBrokers": self.bus_driver == "kafka" and not self.brokers,
            "gcpProject": not self.gcp_project
            and (
                self.provider == "bigquery" or self.ingest_deploy == "cloudrun" or self.bus_driver == "pubsub"
            ),
            "kafkaSaslMechanism": sasl and not self.kafka_sasl_mechanism,
            "kafkaSaslUsername": sasl and not self.kafka_sasl_username,
            "snowflakeIngestUser": self.provider == "snowflake"
            and self.deployed
            and not self.snowflake_ingest_user,
            "snowflakeIngestWarehouse": self.provider == "snowflake"
            and bool(self.snowflake_ingest_user)
            and not self.snowflake_ingest_warehouse,
            "ingestVpcNetwork or ingestVpcSubnetwork": self.deployed
            and self.bus_driver == "kafka"
            and any(is_private_host(broker) for broker in self.brokers)
            and not self.vpc,
        }
        missing = [key for key, is_unset in unset.items() if is_unset]
        if missing:
            raise ValueError(
                f"missing config {', '.join(missing)} for provider={self.provider}, "
                f"busDriver={self.bus_driver}, kafkaSecurityProtocol={self.kafka_security_protocol}, "
                f"ingestDeploy={self.ingest_deploy}"
            )
        if self.kafka_sasl_mechanism and not sasl:
            raise ValueError(
                f"kafkaSaslMechanism {self.kafka_sasl_mechanism} needs kafkaSecurityProtocol "
                "SASL_PLAINTEXT or SASL_SSL"
            )
        if self.deployed and self.bus_driver == "memory":
            raise ValueError(
                "busDriver memory cannot be deployed (ingestDeploy cloudrun): a Cloud Run instance's disk "
                "is memory and instances are replaced at will, so the memory bus's local spool would not "
                "survive and a 202 would not be a promise; use busDriver pubsub or kafka"
            )
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
        return SNOWFLAKE.file_format_name(self.snowflake_stage)

    @property
    def subscription(self) -> str:
        return self.pubsub_subscription or f"{self.pubsub_topic}-ingest"

    @property
    def pubsub_project_id(self) -> str:
        return self.pubsub_project or self.gcp_project

    @property
    def deployed(self) -> bool:
        return self.ingest_deploy == "cloudrun"

    @property
    def vpc(self) -> bool:
        return bool(self.ingest_vpc_network or self.ingest_vpc_subnetwork)


@dataclass(frozen=True)
class Secrets:
    """Secret config values as Pulumi secrets; ``None`` when the key is empty."""

    warehouse_url: pulumi.Output[str] | None
    postgres_admin_url: pulumi.Output[str] | None
    ingest_api_token: pulumi.Output[str] | None
    kafka_sasl_password: pulumi.Output[str] | None = None
    snowflake_ingest_private_key: pulumi.Output[str] | None = None

    @property
    def admin_url(self) -> pulumi.Output[str] | None:
        return self.postgres_admin_url or self.warehouse_url


def config_keys() -> tuple[str, ...]:
    """Every key the program reads from its namespace (what Pulumi.yaml must declare)."""
    fields = tuple(str(info.alias) for info in StackConfig.model_fields.values())
    return fields + SECRET_KEYS


def secret_rules(values: dict[str, Any]) -> dict[str, tuple[bool, bool, str]]:
    """Per secret key: (required, allowed, why), from the stack's raw values (camelCase keys).

    The offline render uses it to put a placeholder where a stack must set a secret; the program
    uses it to refuse a missing one, or one that would be silently ignored.
    """
    provider, deploy = values.get("provider"), values.get("ingestDeploy")
    sasl = values.get("busDriver") == "kafka" and str(values.get("kafkaSecurityProtocol", "")).startswith(
        "SASL_"
    )
    # Worker pools take Direct VPC ingress (services do not, and IAM guards them): on a VPC network
    # a pool's HTTP API is reachable with no IAM check, so only a token guards it.
    pool_on_vpc = (
        deploy == "cloudrun"
        and values.get("ingestMode") == "worker-pool"
        and bool(values.get("ingestVpcNetwork") or values.get("ingestVpcSubnetwork"))
    )
    return {
        "ingestApiToken": (
            pool_on_vpc,
            True,
            "a worker pool on a VPC network takes Direct VPC ingress, and without a token its HTTP API "
            "would be open to that network",
        ),
        "warehouseDatabaseUrl": (
            provider != "bigquery",
            provider != "bigquery",
            "the BigQuery URL is derived (bigquery://gcpProject/dataset) and is no secret"
            if provider == "bigquery"
            else "the ingest service and the provisioning connect with it",
        ),
        "kafkaSaslPassword": (sasl, sasl, "kafkaSecurityProtocol SASL_* authenticates with it"),
        "snowflakeIngestPrivateKey": (
            provider == "snowflake" and deploy == "cloudrun",
            provider == "snowflake",
            "the deployed Snowflake writer authenticates with this key pair (SNOWFLAKE_JWT)",
        ),
    }
