"""Program runs under Pulumi's mock runtime, one per stack file, shared by the graph tests.

Only the Pulumi engine is mocked (the CLI and provider plugins cannot run here): each run records
what the program registered. A run is a plain value, so assertions on it always execute.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.config import StackConfig
from infra.mocks import Registration, Run
from infra.render import run
from infra.stackfiles import stack_names
from ingest.config import Settings

STACKS = stack_names()
# The variables the ingest service reads (its settings model), as the tests' oracle for what the
# deployment may set, plus the contract's variables whose readers land with other issues: the
# BigQuery and Snowflake writers' overrides, and the reliability issue's opt-in for a service that
# something else (Cloud Run IAM) guards.
PENDING_ENV = frozenset(
    {"BIGQUERY_DATASET", "SNOWFLAKE_SCHEMA", "SNOWFLAKE_STAGE", "INGEST_ALLOW_UNAUTHENTICATED"}
)
SERVICE_ENV = frozenset(
    {str(field.validation_alias) for field in Settings.model_fields.values()} | PENDING_ENV
)
CLOUD_RUN = ("gcp:cloudrunv2/service:Service", "gcp:cloudrunv2/workerPool:WorkerPool")
RunOf = Callable[[str], tuple[Run, StackConfig]]


@pytest.fixture(scope="session")
def run_of() -> RunOf:
    cache: dict[str, tuple[Run, StackConfig]] = {}

    def get(stack: str) -> tuple[Run, StackConfig]:
        if stack not in cache:
            cache[stack] = run(stack)
        return cache[stack]

    return get


def cloud_run(run: Run) -> Registration:
    """The stack's one Cloud Run service or worker pool."""
    (deployed,) = [r for r in run.registrations if r.type in CLOUD_RUN]
    return deployed
