"""Golden files: rendered text reviewed by eye once, then committed under ``golden/``.

A renderer's output is compared with its golden file, never with another call of the renderer.
After an intended change, rerun with ``UPDATE_GOLDEN=1`` to rewrite the files, and review the diff
of ``tests/schema/golden/`` like any other code change.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def assert_matches_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual)
    expected = path.read_text()
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"golden/{name}",
                "rendered",
            )
        )
        raise AssertionError(f"{name} differs from its golden file (UPDATE_GOLDEN=1 after review):\n{diff}")
