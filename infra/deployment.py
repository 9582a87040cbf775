"""The ingest service on Cloud Run, wired from the resources the program declares.

Its environment (``infra.environment``) uses the service's variable names; secrets reach it
through Secret Manager, referenced by the version this program wrote, so a rotated value rolls a
new revision (a ``latest`` reference would leave running revisions on the old value). Its service
account gets only what the stack's resources need: the warehouse grants (given by the warehouse
container), the Pub/Sub roles (given by the bus), and access to its own secrets (here). The first
revision waits for all of them, and for the tables.

- ``service``: HTTP API (``POST /v1/events``); also pulls Pub/Sub when that is the bus. CPU stays
  allocated and one instance stays up, because the sink flushes batches on a timer and the bus
  consumer runs in the background. Only the configured invokers may call it (Cloud Run IAM).
- ``worker-pool``: a consumer without HTTP (Kafka or Pub/Sub), one instance.

Both restart a container whose ``/healthz`` fails (``probes``): the bus pump died, and only a
restart retries (a subscription recreated, a permission given back).

Private addresses (a Postgres on a private IP, ``kafka-*.internal`` brokers) are reachable only
through VPC egress: ``Vpc`` gives the revision Direct VPC egress on the configured network.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pulumi

if TYPE_CHECKING:
    from pulumi_gcp.cloudrunv2 import Service, WorkerPool

HTTP_PORT = 8080
# The service's liveness endpoint (ingest.http): open without the API token, 503 once the bus pump
# died. Startup waits for it too (the default TCP probe passes as soon as the socket listens,
# before the service has started); readiness (/readyz) is not a startup condition, because the
# service must start and take events into the bus while the warehouse is down.
HEALTH_PATH = "/healthz"
STARTUP_PERIOD_S, STARTUP_FAILURES = 5, 24  # up to 120 s to start (Cloud Run allows 240)
LIVENESS_PERIOD_S, LIVENESS_TIMEOUT_S, LIVENESS_FAILURES = 10, 5, 3  # restarted after ~30 s dead
INVOKER_ROLE = "roles/run.invoker"
SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
SECRET_FILE_MODE = 0o400


@dataclass(frozen=True)
class IdentityArgs:
    project: str
    account_id: str


@dataclass(frozen=True)
class Vpc:
    """Direct VPC egress: the network and/or subnetwork, and which traffic goes through it."""

    network: str
    subnetwork: str
    egress: str


@dataclass(frozen=True)
class DeploymentArgs:
    """Everything the deployment needs, and nothing else.

    ``env``: plain variables; ``secret_env``: variables whose values go to Secret Manager;
    ``secret_files``: absolute path in the container -> content (a secret mounted read-only, one
    directory per file); ``after``: what must exist before the first revision starts.
    """

    project: str
    region: str
    name: str
    mode: Literal["service", "worker-pool"]
    image: pulumi.Input[str]
    env: Mapping[str, pulumi.Input[str]]
    secret_env: Mapping[str, pulumi.Output[str]]
    secret_files: Mapping[str, pulumi.Output[str]]
    invokers: tuple[str, ...]
    protect: bool
    vpc: Vpc | None
    after: tuple[pulumi.Resource, ...]


class IngestIdentity(pulumi.ComponentResource):
    """The ingest service's own service account; other components grant it what it needs."""

    email: pulumi.Output[str]
    member: pulumi.Output[str]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("analytics:ingest:Identity", name, None, opts)
        import pulumi_gcp as gcp

        account = gcp.serviceaccount.Account(
            "ingest",
            account_id=args.account_id,
            project=args.project,
            display_name="analytics ingest service",
            description="Runs the analytics ingest service; granted only what its stack's resources need.",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.email = account.email
        self.member = account.email.apply(lambda email: f"serviceAccount:{email}")
        self.register_outputs({"email": self.email})


def slug(label: str) -> str:
    """``WAREHOUSE_DATABASE_URL`` -> ``warehouse-database-url``; a file path without its first
    directory: ``/secrets/snowflake/rsa_key.p8`` -> ``snowflake-rsa-key-p8``."""
    parts = label.strip("/").split("/")
    return "-".join(parts[1:] or parts).lower().replace("_", "-").replace(".", "-")


@dataclass(frozen=True)
class _Stored:
    secret_id: pulumi.Output[str]
    version: pulumi.Output[str]


class IngestDeployment(pulumi.ComponentResource):
    """Cloud Run service or worker pool running ``args.image`` as ``identity``."""

    endpoint: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: DeploymentArgs,
        identity: IngestIdentity,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("analytics:ingest:Deployment", name, None, opts)
        import pulumi_gcp as gcp

        self._gcp, self._args, self._identity = gcp, args, identity
        self._readable: list[pulumi.Resource] = []
        env_refs = {variable: self._store(variable, value) for variable, value in args.secret_env.items()}
        file_refs = {path: self._store(path, value) for path, value in args.secret_files.items()}
        after = pulumi.ResourceOptions(parent=self, depends_on=[*args.after, *self._readable])
        envs = container_env(args.env, env_refs)
        if args.mode == "service":
            service = self._service(envs, file_refs, after)
            self.endpoint = service.uri
            for index, member in enumerate(args.invokers):
                gcp.cloudrunv2.ServiceIamMember(
                    f"invoker-{index}",
                    project=args.project,
                    location=args.region,
                    name=service.name,
                    role=INVOKER_ROLE,
                    member=member,
                    opts=pulumi.ResourceOptions(parent=self),
                )
        else:
            self._worker_pool(envs, file_refs, after)
            self.endpoint = None
        self.register_outputs({"endpoint": self.endpoint})

    def _store(self, label: str, value: pulumi.Output[str]) -> _Stored:
        """One Secret Manager secret per value, readable by the service account only."""
        gcp, args = self._gcp, self._args
        name = slug(label)
        child = pulumi.ResourceOptions(parent=self)
        secret = gcp.secretmanager.Secret(
            name,
            secret_id=f"{args.name}-{name}",
            project=args.project,
            replication=gcp.secretmanager.SecretReplicationArgs(
                auto=gcp.secretmanager.SecretReplicationAutoArgs()
            ),
            opts=child,
        )
        version = gcp.secretmanager.SecretVersion(
            f"{name}-value", secret=secret.id, secret_data=value, opts=child
        )
        access = gcp.secretmanager.SecretIamMember(
            f"{name}-reader",
            project=args.project,
            secret_id=secret.secret_id,
            role=SECRET_ACCESSOR_ROLE,
            member=self._identity.member,
            opts=child,
        )
        self._readable.extend([version, access])
        return _Stored(secret_id=secret.secret_id, version=version.version)

    def _files(self, file_refs: Mapping[str, _Stored]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Volumes and mounts for the secret files: one volume per file, mounted on its directory."""
        volumes, mounts = [], []
        for path, ref in sorted(file_refs.items()):
            volume = slug(path)
            item = {"path": posixpath.basename(path), "version": ref.version, "mode": SECRET_FILE_MODE}
            volumes.append({"name": volume, "secret": {"secret": ref.secret_id, "items": [item]}})
            mounts.append({"name": volume, "mount_path": posixpath.dirname(path)})
        return volumes, mounts

    def _vpc(self) -> dict[str, Any] | None:
        vpc = self._args.vpc
        if vpc is None:
            return None
        interface = {
            key: value for key, value in (("network", vpc.network), ("subnetwork", vpc.subnetwork)) if value
        }
        return {"network_interfaces": [interface], "egress": vpc.egress}

    def _template(
        self, container: dict[str, Any], volumes: list[dict[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        template: dict[str, Any] = {
            "service_account": self._identity.email,
            "containers": [container],
            **extra,
        }
        if volumes:
            template["volumes"] = volumes
        vpc = self._vpc()
        if vpc is not None:
            template["vpc_access"] = vpc
        return template

    def _service(
        self, envs: list[dict[str, Any]], file_refs: Mapping[str, _Stored], opts: pulumi.ResourceOptions
    ) -> Service:
        run, args = self._gcp.cloudrunv2, self._args
        volumes, mounts = self._files(file_refs)
        container: dict[str, Any] = {
            "image": args.image,
            "ports": {"container_port": HTTP_PORT},
            "envs": envs,
            "resources": {"cpu_idle": False},
            **probes(),
        }
        if mounts:
            container["volume_mounts"] = mounts
        service: Service = run.Service(
            "ingest",
            name=args.name,
            project=args.project,
            location=args.region,
            ingress="INGRESS_TRAFFIC_ALL",
            deletion_protection=args.protect,
            template=self._template(container, volumes, scaling={"min_instance_count": 1}),
            opts=opts,
        )
        return service

    def _worker_pool(
        self, envs: list[dict[str, Any]], file_refs: Mapping[str, _Stored], opts: pulumi.ResourceOptions
    ) -> WorkerPool:
        run, args = self._gcp.cloudrunv2, self._args
        volumes, mounts = self._files(file_refs)
        container: dict[str, Any] = {"image": args.image, "envs": envs, **probes()}
        if mounts:
            container["volume_mounts"] = mounts
        pool: WorkerPool = run.WorkerPool(
            "ingest",
            name=args.name,
            project=args.project,
            location=args.region,
            launch_stage="BETA",
            deletion_protection=args.protect,
            scaling={"manual_instance_count": 1},
            template=self._template(container, volumes),
            opts=opts,
        )
        return pool


def probes() -> dict[str, Any]:
    """A container's startup and liveness probes, both on ``HEALTH_PATH`` (the port is explicit:
    a worker pool declares none)."""
    http_get = {"path": HEALTH_PATH, "port": HTTP_PORT}
    return {
        "startup_probe": {
            "http_get": http_get,
            "period_seconds": STARTUP_PERIOD_S,
            "failure_threshold": STARTUP_FAILURES,
        },
        "liveness_probe": {
            "http_get": http_get,
            "period_seconds": LIVENESS_PERIOD_S,
            "timeout_seconds": LIVENESS_TIMEOUT_S,
            "failure_threshold": LIVENESS_FAILURES,
        },
    }


def container_env(
    env: Mapping[str, pulumi.Input[str]], secret_refs: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """A container's ``envs`` (the dict form both Cloud Run services and worker pools take):
    plain values, then secrets as references to the version this program stored."""
    plain = [{"name": name, "value": value} for name, value in sorted(env.items())]
    secret = [
        {"name": name, "value_source": {"secret_key_ref": {"secret": ref.secret_id, "version": ref.version}}}
        for name, ref in sorted(secret_refs.items())
    ]
    return plain + secret
