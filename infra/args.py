"""From the stack's config to each component's narrow args: the one place that reads
``StackConfig`` for the components, so each of them takes only what it uses.

Names of the ingest service's GCP resources carry the stack name: two stacks may deploy into one
project (prod-bigquery and prod-snowflake share ``laundry-analytics``), and a name shared between
them fails the second ``up`` with 409.
"""

from __future__ import annotations

import hashlib
import re

import pulumi

from infra.bus import Bus, KafkaArgs, KafkaConnection, PubsubArgs
from infra.config import Secrets, StackConfig
from infra.deployment import HTTP_PORT, DeploymentArgs, IdentityArgs, Vpc
from infra.environment import plain_env, secret_env, secret_files, unauthenticated
from infra.image import ImageArgs
from infra.warehouses import BigQueryArgs, PostgresArgs, SnowflakeArgs, WarehouseArgs

SERVICE_PREFIX = "analytics-ingest"
ACCOUNT_PREFIX = "ingest"
# Service account ids: 6-30 characters, [a-z][-a-z0-9]*[a-z0-9] (the provider's account_id doc).
ACCOUNT_ID_MAX = 30
# Cloud Run service and worker pool names: the API takes 63 characters; 49 leaves room for the
# revision names Cloud Run derives from them (<name>-00001-abc).
SERVICE_NAME_MAX = 49


def _label(stack: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-")


def _bounded(name: str, limit: int) -> str:
    """``name`` if it fits, else cut with a short hash of the whole, so two long names stay apart."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - len(digest) - 1].rstrip('-')}-{digest}"


def service_name(stack: str) -> str:
    return _bounded(f"{SERVICE_PREFIX}-{_label(stack)}", SERVICE_NAME_MAX)


def account_id(stack: str) -> str:
    return _bounded(f"{ACCOUNT_PREFIX}-{_label(stack)}", ACCOUNT_ID_MAX)


def identity_args(config: StackConfig, stack: str) -> IdentityArgs:
    return IdentityArgs(project=config.gcp_project, account_id=account_id(stack))


def bus_args(
    config: StackConfig, secrets: Secrets, member: pulumi.Output[str] | None
) -> KafkaArgs | PubsubArgs | None:
    topic, dead_letter = config.topic, config.dead_letter_topic
    if topic is None or dead_letter is None:
        return None
    if config.bus_driver == "kafka":
        return KafkaArgs(
            brokers=tuple(config.brokers),
            topic=topic,
            dead_letter_topic=dead_letter,
            partitions=config.kafka_partitions,
            replication_factor=config.kafka_replication_factor,
            retention_ms=config.kafka_retention_ms,
            connection=KafkaConnection(
                security_protocol=config.kafka_security_protocol,
                sasl_mechanism=config.kafka_sasl_mechanism,
                sasl_username=config.kafka_sasl_username,
                sasl_password=secrets.kafka_sasl_password,
            ),
        )
    return PubsubArgs(
        project=config.pubsub_project_id,
        topic=topic,
        dead_letter_topic=dead_letter,
        subscription=config.subscription,
        max_delivery_attempts=config.pubsub_max_delivery_attempts,
        subscriber=member,
        # Only the HTTP service publishes (POST /v1/events); a worker pool only pulls.
        publisher=member if config.ingest_mode == "service" else None,
    )


def warehouse_args(config: StackConfig, secrets: Secrets) -> WarehouseArgs:
    if config.provider == "postgres":
        admin_url = secrets.admin_url
        if admin_url is None:
            raise ValueError(
                "provider postgres needs warehouseDatabaseUrl (or postgresAdminUrl), set as a secret"
            )
        return PostgresArgs(
            namespace=config.namespace,
            protect=config.protect,
            admin_url=admin_url,
            ingest_login=config.postgres_ingest_login,
        )
    if config.provider == "bigquery":
        return BigQueryArgs(
            project=config.gcp_project,
            namespace=config.namespace,
            location=config.bigquery_location,
            protect=config.protect,
        )
    return SnowflakeArgs(
        database=config.snowflake_database,
        namespace=config.namespace,
        stage=config.snowflake_stage,
        file_format=config.snowflake_file_format,
        protect=config.protect,
        security_role=config.snowflake_security_role,
        ingest_user=config.snowflake_ingest_user,
        ingest_warehouse=config.snowflake_ingest_warehouse,
    )


def deployment_args(
    config: StackConfig,
    secrets: Secrets,
    stack: str,
    bus: Bus,
    after: tuple[pulumi.Resource, ...],
    image: pulumi.Input[str] | None = None,
) -> DeploymentArgs:
    """``image``: the image to run (a digest once the program builds it); default ``ingestImage``."""
    vpc = (
        Vpc(
            network=config.ingest_vpc_network,
            subnetwork=config.ingest_vpc_subnetwork,
            egress=config.ingest_vpc_egress,
        )
        if config.vpc
        else None
    )
    return DeploymentArgs(
        project=config.gcp_project,
        region=config.gcp_region,
        name=service_name(stack),
        mode=config.ingest_mode,
        image=image if image is not None else config.ingest_image,
        env={**plain_env(config, bus, HTTP_PORT), **unauthenticated(config, secrets)},
        secret_env=secret_env(config, secrets),
        secret_files=secret_files(config, secrets),
        invokers=tuple(config.ingest_invokers),
        protect=config.protect,
        vpc=vpc,
        after=after,
    )


def image_args(config: StackConfig, stack: str) -> ImageArgs | None:
    """What to build and where to push it; None when the stack pins ``ingestImage``. The declared
    repository takes the service's name: repository ids are unique per project and location."""
    if config.ingest_image:
        return None
    return ImageArgs(
        project=config.gcp_project,
        region=config.gcp_region,
        repository_id=service_name(stack),
        repository=config.ingest_image_repository,
        protect=config.protect,
    )
