"""Running the program under Pulumi's mock runtime and recording what it declares.

The Pulumi CLI and provider plugins are not available here, so the engine is replaced by
``pulumi.runtime.set_mocks``: every registration is recorded (type, name, parent, protect,
dependencies, provider, inputs with secrets marked) and answered with deterministic ids and
outputs, so a run is a plain value that the render prints and the tests assert on.

What mocks cannot show: provider-side validation and defaults, the provider's own diff (what
would update in place or replace), real ids and URLs, IAM propagation, and whether the cloud
accepts the values. Dynamic providers' create() is not called either.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from infra.config import PROJECT
from infra.stackfiles import StackFile
from schema.contract import SECRET_MASK

SECRET = SECRET_MASK
DYNAMIC_PROVIDER_KEY = "__provider"
MOCK_PROJECT_NUMBER = "123456789012"
MOCK_SECRET_VERSION = "1"
# The id of each named Pub/Sub resource, as the provider reports it (``projects/P/<collection>/N``).
PUBSUB_COLLECTIONS = {
    "gcp:pubsub/topic:Topic": "topics",
    "gcp:pubsub/subscription:Subscription": "subscriptions",
    "gcp:pubsub/schema:Schema": "schemas",
}
# Provider SDKs fill unset arguments from these variables (PGSSLMODE, SNOWFLAKE_USER, GOOGLE_PROJECT,
# ...) and Pulumi reads config from PULUMI_CONFIG*: a run must not depend on the reviewer's shell.
AMBIENT_PREFIXES = ("PG", "SNOWFLAKE_", "KAFKA_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "PULUMI_CONFIG")


@dataclass(frozen=True)
class Registration:
    """One resource as the program registered it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    dependencies: tuple[str, ...]
    provider: str
    inputs: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.type}::{self.name}"


@dataclass
class Run:
    """Everything one program run declared and exported."""

    stack: str
    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: list[str] = field(default_factory=list)

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.registrations}

    def of_type(self, type_: str) -> list[Registration]:
        return sorted((r for r in self.registrations if r.type == type_), key=lambda r: r.name)

    def one(self, type_: str, name: str) -> Registration:
        matches = [r for r in self.registrations if r.type == type_ and r.name == name]
        if len(matches) != 1:
            raise KeyError(f"expected one {type_} named {name}, found {len(matches)}")
        return matches[0]

    def parent_of(self, registration: Registration) -> Registration | None:
        return self.by_urn().get(registration.parent)

    def depends_on(self, registration: Registration, other: Registration) -> bool:
        return other.urn in registration.dependencies


def _mark_secrets(value: Any) -> Any:
    """Replace every secret (an RPC secret wrapper) by a marker, recursively."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {key: _mark_secrets(child) for key, child in value.items() if key != DYNAMIC_PROVIDER_KEY}
    if isinstance(value, list):
        return [_mark_secrets(child) for child in value]
    return value


class RecordingMonitor(MockMonitor):
    """A mock monitor that also keeps each registration's options, not only its state."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    protect=bool(request.protect),
                    dependencies=tuple(sorted(set(request.dependencies))),
                    provider=request.provider.split("::")[-2] if request.provider else "",
                    inputs=_mark_secrets(rpc.deserialize_properties(request.object)),
                )
            )
        return response


class WarehouseMocks(Mocks):
    """Deterministic answers: id ``<name>-id``, outputs = inputs plus what a few types compute."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = {key: value for key, value in args.inputs.items() if key != DYNAMIC_PROVIDER_KEY}
        name = outputs.get("name", args.name)
        if args.typ == "gcp:serviceaccount/account:Account":
            outputs["email"] = f"{outputs['accountId']}@{outputs['project']}.iam.gserviceaccount.com"
        elif args.typ == "gcp:cloudrunv2/service:Service":
            outputs["uri"] = f"https://{name}-mock.a.run.app"
        elif args.typ == "gcp:secretmanager/secret:Secret":
            # The provider's id of a secret is its full name, which SecretVersion.secret takes.
            outputs["name"] = f"projects/{outputs['project']}/secrets/{outputs['secretId']}"
            return outputs["name"], outputs
        elif args.typ == "gcp:secretmanager/secretVersion:SecretVersion":
            # The real provider numbers versions from 1; what matters is that it is an output.
            outputs["version"] = MOCK_SECRET_VERSION
        elif args.typ == "docker-build:index:Image":
            # A build's digest: stable for the same inputs, new when they change (a rebuild).
            digest = "sha256:" + hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()
            outputs["digest"] = digest
            outputs["ref"] = f"{outputs['tags'][0].rsplit(':', 1)[0]}@{digest}"
        elif args.typ in PUBSUB_COLLECTIONS:
            outputs.setdefault("name", name)
            return f"projects/{outputs.get('project')}/{PUBSUB_COLLECTIONS[args.typ]}/{name}", outputs
        return f"{args.name}-id", outputs

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        if args.token == "gcp:organizations/getProject:getProject":
            return {"number": MOCK_PROJECT_NUMBER, "projectId": args.args.get("projectId")}
        return {}


def configure(stack: StackFile) -> RecordingMonitor:
    """Point the Pulumi runtime at fresh mocks with ``stack``'s configuration.

    Options are reset first, so a previous program's root stack and exports do not carry over.
    """
    pulumi.runtime.reset_options(project=PROJECT, stack=stack.name, preview=False)
    pulumi.runtime.set_all_config(stack.config, list(stack.secret_keys))
    mocks = WarehouseMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack.name, preview=False, monitor=monitor)
    return monitor


@contextmanager
def without_ambient_settings() -> Iterator[None]:
    """Hide the environment variables provider SDKs and Pulumi config would read, then restore them."""
    hidden = {key: value for key, value in os.environ.items() if key.startswith(AMBIENT_PREFIXES)}
    for key in hidden:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(hidden)


def run_stack(stack: StackFile, program: Any) -> Run:
    """Run ``program()`` for ``stack`` under fresh mocks; returns what it declared and exported."""
    monitor = configure(stack)
    run = Run(stack=stack.name)

    def execute() -> pulumi.Output[Any]:
        program()
        root = pulumi.runtime.get_root_resource()
        exported: dict[str, Any] = dict(getattr(root, "outputs", {}))

        def collect(values: dict[str, Any]) -> None:
            run.outputs.update(values)

        async def secret_keys() -> None:
            for key, value in exported.items():
                if isinstance(value, pulumi.Output) and await value.is_secret():
                    run.secret_outputs.append(key)

        flagged: pulumi.Output[None] = pulumi.Output.from_input(secret_keys())
        return pulumi.Output.all(pulumi.Output.all(**exported).apply(collect), flagged)

    with without_ambient_settings():
        pulumi.runtime.test(execute)()  # type: ignore[no-untyped-call]
    run.registrations = sorted(monitor.registrations, key=lambda r: (r.type, r.name))
    return run
