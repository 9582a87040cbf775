"""The ingest image in the program, under Pulumi's mocks (no Docker daemon, no registry): built
from the repository's Dockerfile for Cloud Run's platform, pushed to Artifact Registry, deployed
by digest; or an existing image deployed as pinned. The mocks answer a build with a digest
derived from its inputs, so these tests show the wiring, not a real build."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from infra import program
from infra.config import PROJECT
from infra.mocks import Run, run_stack
from infra.reading import load_config, load_secrets
from infra.stackfiles import ROOT, StackFile, load_stack
from tests.infra.conftest import RunOf

IMAGE = "docker-build:index:Image"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
SERVICE = "gcp:cloudrunv2/service:Service"
WORKER_POOL = "gcp:cloudrunv2/workerPool:WorkerPool"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}")


def run_with(stack: str, **overrides: str) -> Run:
    """The program for ``stack`` with some config keys overridden (as a stack file would)."""
    base = load_stack(stack)
    config = {**base.config, **{f"{PROJECT}:{key}": value for key, value in overrides.items()}}
    return run_stack(
        StackFile(base.name, config, base.secret_keys),
        lambda: program.compose(load_config(), load_secrets()),
    )


def image_of(run: Run, type_: str) -> Any:
    return run.one(type_, "ingest").inputs["template"]["containers"][0]["image"]


def test_the_service_runs_the_built_image_by_digest(run_of: RunOf) -> None:
    run, _ = run_of("staging")
    image = image_of(run, SERVICE)

    assert image.startswith("europe-west1-docker.pkg.dev/laundry-staging/analytics-ingest-staging/ingest@")
    assert DIGEST.search(image) and ":latest" not in image
    assert run.depends_on(run.one(SERVICE, "ingest"), run.one(IMAGE, "ingest"))


def test_the_worker_pool_runs_the_built_image_by_digest(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    image = image_of(run, WORKER_POOL)

    assert image.startswith(
        "europe-west1-docker.pkg.dev/laundry-analytics/analytics-ingest-prod-snowflake/ingest@"
    )
    assert DIGEST.search(image)


def test_the_image_is_the_dockerfile_built_for_cloud_run_and_pushed(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    build = run.one(IMAGE, "ingest").inputs

    assert build["push"] is True
    assert build["platforms"] == ["linux/amd64"]
    assert build["tags"] == [
        "europe-west1-docker.pkg.dev/laundry-analytics/analytics-ingest-prod-bigquery/ingest:latest"
    ]
    assert (Path.cwd() / build["context"]["location"]).resolve() == ROOT
    assert (Path.cwd() / build["dockerfile"]["location"]).resolve() == ROOT / "Dockerfile"


def test_each_stack_declares_its_own_docker_repository(run_of: RunOf) -> None:
    repositories = [
        run_of(stack)[0].one(REPOSITORY, "images") for stack in ("prod-bigquery", "prod-snowflake")
    ]

    assert [r.inputs["project"] for r in repositories] == ["laundry-analytics", "laundry-analytics"]
    assert [r.inputs["repositoryId"] for r in repositories] == [
        "analytics-ingest-prod-bigquery",
        "analytics-ingest-prod-snowflake",
    ]
    assert all(r.inputs["format"] == "DOCKER" and r.protect for r in repositories)


def test_a_pinned_image_is_deployed_as_is_and_nothing_is_built() -> None:
    pinned = "europe-west1-docker.pkg.dev/laundry-staging/analytics/ingest@sha256:" + "ab" * 32
    run = run_with("staging", ingestImage=pinned)

    assert image_of(run, SERVICE) == pinned
    assert run.of_type(IMAGE) == [] and run.of_type(REPOSITORY) == []


def test_an_existing_repository_receives_the_image_and_none_is_declared() -> None:
    existing = "europe-west1-docker.pkg.dev/laundry-shared/images"
    run = run_with("staging", ingestImageRepository=existing)

    assert run.one(IMAGE, "ingest").inputs["tags"] == [f"{existing}/ingest:latest"]
    assert image_of(run, SERVICE).startswith(f"{existing}/ingest@sha256:")
    assert run.of_type(REPOSITORY) == []


def test_a_stack_without_a_deployment_builds_nothing(run_of: RunOf) -> None:
    run, _ = run_of("dev")

    assert run.of_type(IMAGE) == [] and run.of_type(REPOSITORY) == []
