"""Program runs under Pulumi's mock runtime, one per stack file, shared by the graph tests.

Only the Pulumi engine is mocked (the CLI and provider plugins cannot run here): each run records
what the program registered. A run is a plain value, so assertions on it always execute.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.config import StackConfig
from infra.mocks import Run
from infra.render import run
from infra.stackfiles import stack_names

STACKS = stack_names()
# design.md's environment table: the ingest service's contract, as the tests' oracle.
DESIGN_ENV = frozenset(
    {
        "EVENT_BUS_DRIVER",
        "EVENT_BUS_KAFKA_TOPIC",
        "KAFKA_BROKERS",
        "EVENT_BUS_PUBSUB_TOPIC",
        "PUBSUB_PROJECT_ID",
        "WAREHOUSE_DATABASE_URL",
        "EVENT_SINK_BATCH_SIZE",
        "EVENT_SINK_FLUSH_INTERVAL_MS",
        "EVENT_BUS_KAFKA_GROUP",
        "EVENT_BUS_PUBSUB_SUBSCRIPTION",
        "INGEST_HOST",
        "INGEST_PORT",
        "INGEST_API_TOKEN",
    }
)
RunOf = Callable[[str], tuple[Run, StackConfig]]


@pytest.fixture(scope="session")
def run_of() -> RunOf:
    cache: dict[str, tuple[Run, StackConfig]] = {}

    def get(stack: str) -> tuple[Run, StackConfig]:
        if stack not in cache:
            cache[stack] = run(stack)
        return cache[stack]

    return get
