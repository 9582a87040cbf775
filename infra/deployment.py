"""The ingest service on Cloud Run, wired from the resources the program declares.

Its environment uses design.md's variable names: bus settings come from the topic and
subscription resources, the warehouse URL and API token from Secret Manager (never a plain env
value), and the service starts after the tables exist. Its service account gets only what the
stack's resources need: the warehouse grant (given by the warehouse container), the subscriber
role on the ingest subscription (given by the bus), and access to its own secrets (here).

- ``service``: HTTP API (``POST /v1/events``); also pulls Pub/Sub when that is the bus. CPU stays
  allocated and one instance stays up, because the sink flushes batches on a timer and the bus
  consumer runs in the background. Only ``ingestInvokers`` may call it.
- ``worker-pool``: a consumer without HTTP (Kafka or Pub/Sub), one instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi

from infra.bus import Bus
from infra.config import ENV_FOR_KEY, Secrets, StackConfig

if TYPE_CHECKING:
    from pulumi_gcp.cloudrunv2 import Service, WorkerPool

SERVICE_NAME = "analytics-ingest"
HTTP_PORT = 8080
# Not config keys: where the HTTP API binds inside the container.
INGEST_HOST, INGEST_PORT = "INGEST_HOST", "INGEST_PORT"
INVOKER_ROLE = "roles/run.invoker"
SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"


class IngestIdentity(pulumi.ComponentResource):
    """The ingest service's own service account; other components grant it what it needs."""

    email: pulumi.Output[str]
    member: pulumi.Output[str]

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("analytics:ingest:Identity", name, None, opts)
        import pulumi_gcp as gcp

        account = gcp.serviceaccount.Account(
            "ingest",
            account_id=SERVICE_NAME,
            project=config.gcp_project,
            display_name="analytics ingest service",
            description="Runs the analytics ingest service; granted only what its stack's resources need.",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.email = account.email
        self.member = account.email.apply(lambda email: f"serviceAccount:{email}")
        self.register_outputs({"email": self.email})


def plain_env(config: StackConfig, bus: Bus) -> dict[str, pulumi.Input[str]]:
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
    if config.bus_driver == "pubsub" and bus.topic is not None and bus.subscription is not None:
        env[ENV_FOR_KEY["pubsubTopic"]] = bus.topic
        env[ENV_FOR_KEY["pubsubProject"]] = config.pubsub_project_id
        env[ENV_FOR_KEY["pubsubSubscription"]] = bus.subscription
    if config.ingest_mode == "service":
        env[INGEST_HOST] = "0.0.0.0"
        env[INGEST_PORT] = str(HTTP_PORT)
    return dict(sorted(env.items()))


def secret_env(secrets: Secrets) -> dict[str, pulumi.Output[str]]:
    values = {
        ENV_FOR_KEY["warehouseDatabaseUrl"]: secrets.warehouse_url,
        ENV_FOR_KEY["ingestApiToken"]: secrets.ingest_api_token,
    }
    return {name: value for name, value in sorted(values.items()) if value is not None}


def container_env(env: dict[str, pulumi.Input[str]], secret_refs: dict[str, pulumi.Output[str]]) -> list[Any]:
    """A container's ``envs`` (the dict form both Cloud Run services and worker pools take):
    plain values, then secrets as references to the latest version in Secret Manager."""
    plain = [{"name": name, "value": value} for name, value in env.items()]
    secret = [
        {"name": name, "value_source": {"secret_key_ref": {"secret": ref, "version": "latest"}}}
        for name, ref in secret_refs.items()
    ]
    return plain + secret


class IngestDeployment(pulumi.ComponentResource):
    """Cloud Run service or worker pool running the configured image."""

    endpoint: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        config: StackConfig,
        secrets: Secrets,
        identity: IngestIdentity,
        bus: Bus,
        tables: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("analytics:ingest:Deployment", name, None, opts)
        import pulumi_gcp as gcp

        self._gcp = gcp
        self._config = config
        secret_refs, readable = self._secrets(secret_env(secrets), identity)
        after = pulumi.ResourceOptions(parent=self, depends_on=[*tables, *readable])
        envs = container_env(plain_env(config, bus), secret_refs)
        if config.ingest_mode == "service":
            service = self._service(envs, identity, after)
            self.endpoint = service.uri
            for index, member in enumerate(config.ingest_invokers):
                gcp.cloudrunv2.ServiceIamMember(
                    f"invoker-{index}",
                    project=config.gcp_project,
                    location=config.gcp_region,
                    name=service.name,
                    role=INVOKER_ROLE,
                    member=member,
                    opts=pulumi.ResourceOptions(parent=self),
                )
        else:
            self._worker_pool(envs, identity, after)
            self.endpoint = None
        self.register_outputs({"endpoint": self.endpoint})

    def _secrets(
        self, values: dict[str, pulumi.Output[str]], identity: IngestIdentity
    ) -> tuple[dict[str, pulumi.Output[str]], list[pulumi.Resource]]:
        """One Secret Manager secret per secret variable, readable by the service account only."""
        gcp, config = self._gcp, self._config
        refs: dict[str, pulumi.Output[str]] = {}
        readable: list[pulumi.Resource] = []
        for variable, value in values.items():
            slug = variable.lower().replace("_", "-")
            secret = gcp.secretmanager.Secret(
                slug,
                secret_id=f"{SERVICE_NAME}-{slug}",
                project=config.gcp_project,
                replication=gcp.secretmanager.SecretReplicationArgs(
                    auto=gcp.secretmanager.SecretReplicationAutoArgs()
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            version = gcp.secretmanager.SecretVersion(
                f"{slug}-value", secret=secret.id, secret_data=value, opts=pulumi.ResourceOptions(parent=self)
            )
            access = gcp.secretmanager.SecretIamMember(
                f"{slug}-reader",
                project=config.gcp_project,
                secret_id=secret.secret_id,
                role=SECRET_ACCESSOR_ROLE,
                member=identity.member,
                opts=pulumi.ResourceOptions(parent=self),
            )
            refs[variable] = secret.secret_id
            readable.extend([version, access])
        return refs, readable

    def _service(
        self,
        envs: list[Any],
        identity: IngestIdentity,
        opts: pulumi.ResourceOptions,
    ) -> Service:
        run, config = self._gcp.cloudrunv2, self._config
        service: Service = run.Service(
            "ingest",
            name=SERVICE_NAME,
            project=config.gcp_project,
            location=config.gcp_region,
            ingress="INGRESS_TRAFFIC_ALL",
            deletion_protection=config.protect,
            template=run.ServiceTemplateArgs(
                service_account=identity.email,
                scaling=run.ServiceTemplateScalingArgs(min_instance_count=1),
                containers=[
                    run.ServiceTemplateContainerArgs(
                        image=config.ingest_image,
                        ports=run.ServiceTemplateContainerPortsArgs(container_port=HTTP_PORT),
                        envs=envs,
                        resources=run.ServiceTemplateContainerResourcesArgs(cpu_idle=False),
                    )
                ],
            ),
            opts=opts,
        )
        return service

    def _worker_pool(
        self,
        envs: list[Any],
        identity: IngestIdentity,
        opts: pulumi.ResourceOptions,
    ) -> WorkerPool:
        run, config = self._gcp.cloudrunv2, self._config
        pool: WorkerPool = run.WorkerPool(
            "ingest",
            name=SERVICE_NAME,
            project=config.gcp_project,
            location=config.gcp_region,
            launch_stage="BETA",
            deletion_protection=config.protect,
            scaling=run.WorkerPoolScalingArgs(manual_instance_count=1),
            template=run.WorkerPoolTemplateArgs(
                service_account=identity.email,
                containers=[run.WorkerPoolTemplateContainerArgs(image=config.ingest_image, envs=envs)],
            ),
            opts=opts,
        )
        return pool
