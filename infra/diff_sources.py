"""The two sides of ``python -m infra diff``: a git ref and the working tree, each rendered by its
own code.

The base is extracted with ``git archive`` into a temporary directory and rendered there in a
subprocess (``python -m infra render --stack S --json`` with only that directory on the path), so
the base's program, schema module and stack files produce the base's render, whatever the working
tree has since changed. The working tree is rendered the same way from its own root. Each side
also reports its schema snapshot, from which the evolution report is computed.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_BRANCH = "main"
RENDER_TIMEOUT_S = 300
# The schema module's snapshot of its models, printed by the tree's own code.
_SNAPSHOT = (
    "import json, sys; from schema.fingerprint import schema_snapshot; "
    "json.dump(schema_snapshot(), sys.stdout)"
)


class DiffError(RuntimeError):
    """The diff itself cannot run (not a repository, unknown ref); the message says which."""


@dataclass(frozen=True)
class Side:
    """One rendered side: ``render`` is None when the stack file does not exist there;
    ``failure`` holds the render's error when it does not render."""

    label: str
    render: dict[str, Any] | None
    schema: dict[str, Any]
    failure: str | None = None


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout.strip()


def repository_root(start: Path) -> Path:
    return Path(git(start, "rev-parse", "--show-toplevel"))


def default_base(root: Path) -> str:
    """The merge base of HEAD with main: what the branch changes, not what main did meanwhile."""
    try:
        return git(root, "merge-base", "HEAD", DEFAULT_BRANCH)
    except DiffError as error:
        raise DiffError(f"no merge base with {DEFAULT_BRANCH} ({error}); pass --base REF") from None


def _python(tree: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *argv],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_S,
        check=False,
    )


def _last_lines(text: str, count: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b[^:]*:")


def _error(stderr: str) -> str:
    """A failed render's exception (type and message), without the traceback; its last lines
    when no exception line is found."""
    lines = stderr.strip().splitlines()
    starts = [index for index, line in enumerate(lines) if _EXCEPTION.match(line)]
    return "\n".join(lines[starts[-1] :]) if starts else _last_lines(stderr)


def render_tree(tree: Path, stack: str, label: str) -> Side:
    """Render ``stack`` with the code and stack files under ``tree``."""
    snapshot = _python(tree, ["-c", _SNAPSHOT])
    if snapshot.returncode != 0:
        raise DiffError(f"{label}: cannot read its schema module:\n{_last_lines(snapshot.stderr)}")
    schema: dict[str, Any] = json.loads(snapshot.stdout)
    if not (tree / f"Pulumi.{stack}.yaml").exists():
        return Side(label, None, schema)
    result = _python(tree, ["-m", "infra", "render", "--stack", stack, "--json"])
    if result.returncode != 0:
        return Side(label, None, schema, failure=_error(result.stderr))
    return Side(label, json.loads(result.stdout), schema)


def render_ref(root: Path, ref: str, stack: str, name: str | None = None) -> Side:
    """Render ``stack`` as commit ``ref`` had it, from a ``git archive`` of that commit;
    ``name`` says what the ref is in the report (default: the ref itself)."""
    commit = git(root, "rev-parse", "--verify", f"{ref}^{{commit}}")
    archive = subprocess.run(["git", "archive", commit], cwd=root, capture_output=True, check=False)
    if archive.returncode != 0:
        raise DiffError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
    label = f"{name or ref} ({commit[:12]})" if (name or ref) != commit else commit[:12]
    with tempfile.TemporaryDirectory(prefix="infra-diff-") as temp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(temp, filter="data")
        return render_tree(Path(temp), stack, label)
