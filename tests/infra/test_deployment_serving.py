"""The deployed container passes the service's own start-up check.

``ingest serve`` refuses a non-loopback ``INGEST_HOST`` without ``INGEST_API_TOKEN`` unless
``INGEST_ALLOW_UNAUTHENTICATED=true`` (``Settings.check_serving``, exit 2): a deployment whose
environment fails it never starts, and its startup probe on ``/healthz`` never answers. The
environment checked is the one the container really gets: the image's ``ENV`` (read from the
Dockerfile, which binds ``0.0.0.0``) overlaid by what the program declares on the Cloud Run
service or worker pool, read by the real settings loader from the process environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.config import ENV_FOR_KEY, PROJECT, ConfigError
from infra.environment import ALLOW_UNAUTHENTICATED, unauthenticated
from infra.mocks import Run, configure
from infra.reading import check_secrets, load_config, load_secrets
from infra.stackfiles import load_stack
from ingest.config import Settings, load_settings
from tests.infra.conftest import RunOf, cloud_run
from tests.infra.dockerfile import load
from tests.infra.test_deployment import DEPLOYED
from tests.infra.test_image import run_with

STAND_IN = "stand-in-for-the-secret-manager-value"


def container_env(run: Run, warehouse_url: str) -> dict[str, str]:
    """The container's variables as the service would read them. A secret reference stands for the
    value Secret Manager holds: only its presence matters to the serving check, so each becomes a
    stand-in (the warehouse URL a local DuckDB file, since the URL is validated on load)."""
    values: dict[str, str] = {}
    container: dict[str, Any] = cloud_run(run).inputs["template"]["containers"][0]
    for env in container["envs"]:
        if "value" in env:
            values[env["name"]] = env["value"]
        elif env["name"] == ENV_FOR_KEY["warehouseDatabaseUrl"]:
            values[env["name"]] = warehouse_url
        else:
            values[env["name"]] = STAND_IN
    return values


def serving_check(run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Run the service's serving check on the container's environment; returns that environment."""
    env = {**load().final.env(), **container_env(run, f"duckdb:///{tmp_path / 'w.duckdb'}")}
    for field in Settings.model_fields.values():
        monkeypatch.delenv(str(field.validation_alias), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert not settings.loopback, "the image binds beyond loopback, so the check applies"
    settings.check_serving()
    return env


@pytest.mark.parametrize("stack", DEPLOYED)
def test_the_deployed_container_passes_the_services_serving_check(
    stack: str, run_of: RunOf, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run, _ = run_of(stack)

    serving_check(run, monkeypatch, tmp_path)


def test_a_worker_pool_on_a_vpc_network_needs_a_token() -> None:
    """Worker pools take Direct VPC ingress: on prod-snowflake's network the HTTP API would be open
    to whatever the firewall lets in, with no IAM check, so the stack is refused without a token."""
    configure(load_stack("prod-snowflake"))
    config = load_config()
    pulumi.runtime.set_config(f"{PROJECT}:ingestApiToken", "")

    with pytest.raises(ConfigError, match=r"ingestApiToken is required: a worker pool on a VPC network"):
        check_secrets(config, load_secrets())
    # Nor does the environment open it should the refusal be bypassed.
    assert unauthenticated(config, load_secrets()) == {}


def test_a_worker_pool_without_a_network_serves_unauthenticated_without_a_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without Direct VPC a worker pool has no endpoint, URL or ingress: only the platform's probes
    reach its port, so the opt-in is safe and the container starts without a token."""
    run = run_with(
        "prod-snowflake",
        ingestVpcNetwork="",
        ingestVpcSubnetwork="",
        kafkaBrokers="kafka.example.com:9092",
        ingestApiToken="",
    )

    env = serving_check(run, monkeypatch, tmp_path)

    assert env[ALLOW_UNAUTHENTICATED] == "true" and ENV_FOR_KEY["ingestApiToken"] not in env
