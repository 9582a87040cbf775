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
RunOf = Callable[[str], tuple[Run, StackConfig]]


@pytest.fixture(scope="session")
def run_of() -> RunOf:
    cache: dict[str, tuple[Run, StackConfig]] = {}

    def get(stack: str) -> tuple[Run, StackConfig]:
        if stack not in cache:
            cache[stack] = run(stack)
        return cache[stack]

    return get
