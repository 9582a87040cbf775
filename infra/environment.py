"""The ingest service's environment, from the stack's config and the bus resources.

Every variable the service reads for the stack's bus and warehouse is set here (docs/ingest.md
has the service's table); names come from ``ENV_FOR_KEY`` or are declared below with the reason
they are not config keys. Secrets are returned apart, for Secret Manager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from infra.config import ENV_FOR_KEY, Secrets, StackConfig

if TYPE_CHECKING:
    from infra.bus import Bus

# Not config keys: where the HTTP API binds inside the container.
INGEST_HOST, INGEST_PORT = "INGEST_HOST", "INGEST_PORT"
BIND_ALL = "0.0.0.0"
# The service refuses to listen on a non-loopback address without INGEST_API_TOKEN unless told
# that something else guards it (``unauthenticated`` says when). Set only when no token is
# configured.
ALLOW_UNAUTHENTICATED = "INGEST_ALLOW_UNAUTHENTICATED"
# Where the Snowflake private key is mounted; the warehouse URL names it in ``private_key_file``.
SNOWFLAKE_KEY_PATH = "/secrets/snowflake/rsa_key.p8"


def bigquery_url(project: str, dataset: str) -> str:
    """The BigQuery writer's URL: two public facts, so a plain variable, not a secret."""
    return f"bigquery://{project}/{dataset}"


def plain_env(config: StackConfig, bus: Bus, http_port: int) -> dict[str, pulumi.Input[str]]:
    """Non-secret variables, from the bus resources where there are some."""
    env: dict[str, pulumi.Input[str]] = {
        ENV_FOR_KEY["busDriver"]: config.bus_driver,
        ENV_FOR_KEY["eventSinkBatchSize"]: str(config.event_sink_batch_size),
        ENV_FOR_KEY["eventSinkFlushIntervalMs"]: str(config.event_sink_flush_interval_ms),
    }
    if config.bus_driver == "kafka" and bus.topic is not None:
        env[ENV_FOR_KEY["kafkaTopic"]] = bus.topic
        env[ENV_FOR_KEY["kafkaBrokers"]] = ",".join(config.brokers)
        env[ENV_FOR_KEY["kafkaGroup"]] = config.kafka_group
        env[ENV_FOR_KEY["kafkaSecurityProtocol"]] = config.kafka_security_protocol
        if config.kafka_security_protocol.startswith("SASL_"):
            env[ENV_FOR_KEY["kafkaSaslMechanism"]] = config.kafka_sasl_mechanism
            env[ENV_FOR_KEY["kafkaSaslUsername"]] = config.kafka_sasl_username
    if config.bus_driver == "pubsub" and bus.topic is not None and bus.subscription is not None:
        env[ENV_FOR_KEY["pubsubTopic"]] = bus.topic
        env[ENV_FOR_KEY["pubsubProject"]] = config.pubsub_project_id
        env[ENV_FOR_KEY["pubsubSubscription"]] = bus.subscription
    if config.provider == "postgres":
        env[ENV_FOR_KEY["postgresSchema"]] = config.namespace
    elif config.provider == "bigquery":
        env[ENV_FOR_KEY["bigqueryDataset"]] = config.namespace
        env[ENV_FOR_KEY["warehouseDatabaseUrl"]] = bigquery_url(config.gcp_project, config.namespace)
    else:
        env[ENV_FOR_KEY["snowflakeSchema"]] = config.namespace
        env[ENV_FOR_KEY["snowflakeStage"]] = config.snowflake_stage
    if config.ingest_mode == "service":
        env[INGEST_HOST] = BIND_ALL
        env[INGEST_PORT] = str(http_port)
    return dict(sorted(env.items()))


def secret_env(config: StackConfig, secrets: Secrets) -> dict[str, pulumi.Output[str]]:
    """Secret variables: the warehouse URL (not on BigQuery, whose URL is plain), the API token
    (else ``unauthenticated`` decides on the opt-in), the SASL password."""
    values = {
        ENV_FOR_KEY["warehouseDatabaseUrl"]: secrets.warehouse_url if config.provider != "bigquery" else None,
        ENV_FOR_KEY["ingestApiToken"]: secrets.ingest_api_token,
        ENV_FOR_KEY["kafkaSaslPassword"]: secrets.kafka_sasl_password
        if config.bus_driver == "kafka" and config.kafka_security_protocol.startswith("SASL_")
        else None,
    }
    return {name: value for name, value in sorted(values.items()) if value is not None}


def unauthenticated(config: StackConfig, secrets: Secrets) -> dict[str, str]:
    """``INGEST_ALLOW_UNAUTHENTICATED=true`` without a token where nothing unauthenticated can
    reach the container's port; the image binds 0.0.0.0, so without it or a token ``serve``
    exits 2 and the startup probe never answers.

    - A service: Cloud Run IAM guards it (only ``ingestInvokers`` hold roles/run.invoker and
      public members are refused), so an unauthenticated request never reaches the container.
    - A worker pool without a VPC network: it has no endpoint, URL or ingress at all; only the
      platform's probes reach the port.
    - A worker pool on a VPC network: not here. Worker pools (unlike services) take Direct VPC
      ingress, so anything the network's firewall lets in reaches the port with no IAM check;
      ``secret_rules`` requires ``ingestApiToken`` for it instead.
    """
    if secrets.ingest_api_token is not None:
        return {}
    if config.ingest_mode == "service" or not config.vpc:
        return {ALLOW_UNAUTHENTICATED: "true"}
    return {}


def secret_files(config: StackConfig, secrets: Secrets) -> dict[str, pulumi.Output[str]]:
    """Secrets the service reads as files: the Snowflake key (key-pair auth reads a key file)."""
    key = secrets.snowflake_ingest_private_key
    return {SNOWFLAKE_KEY_PATH: key} if config.provider == "snowflake" and key is not None else {}
