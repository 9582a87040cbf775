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

import pytest

from infra.config import ENV_FOR_KEY
from infra.mocks import Run
from ingest.config import Settings, load_settings
from tests.infra.conftest import RunOf, cloud_run
from tests.infra.dockerfile import load

DEPLOYED = ("staging", "prod-bigquery", "prod-snowflake")
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


@pytest.mark.parametrize("stack", DEPLOYED)
def test_the_deployed_container_passes_the_services_serving_check(
    stack: str, run_of: RunOf, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run, _ = run_of(stack)
    env = {**load().final.env(), **container_env(run, f"duckdb:///{tmp_path / 'w.duckdb'}")}
    for field in Settings.model_fields.values():
        monkeypatch.delenv(str(field.validation_alias), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert not settings.loopback, "the image binds beyond loopback, so the check applies"
    settings.check_serving()
