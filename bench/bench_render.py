"""Render wall time per stack, against a baseline measured in the same run.

Each stack is rendered in a fresh interpreter (as ``python -m infra render`` is run in a review),
so a measurement includes importing the provider SDKs that stack needs. The baseline is the same
interpreter importing ``pulumi`` and setting up the mocks without declaring anything. Prints the
median of several runs; not a test, asserts nothing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
BASELINE = (
    "import pulumi\n"
    "from infra.mocks import configure\n"
    "from infra.stackfiles import load_stack\n"
    "configure(load_stack('dev'))\n"
)


def _seconds(code: str) -> float:
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def stack_names() -> list[str]:
    """Stack files, found without importing the program (the parent stays a plain timer)."""
    return sorted(
        path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in ROOT.glob("Pulumi.*.yaml")
    )


def main() -> None:
    baseline = _seconds(BASELINE)
    print(f"baseline (import pulumi + mocks setup, fresh interpreter): {baseline * 1000:7.0f} ms")
    print(f"{'stack':<16} {'render ms':>10} {'x baseline':>11}")
    for stack in stack_names():
        seconds = _seconds(f"from infra.render import render\nrender({stack!r})\n")
        print(f"{stack:<16} {seconds * 1000:10.0f} {seconds / baseline:11.2f}")


if __name__ == "__main__":
    main()
