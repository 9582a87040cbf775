"""Real git repositories for the ``infra diff`` tests: a copy of this project's files, committed
on ``main``, that a test then branches, edits and diffs with ``python -m infra diff`` run inside
it (so both sides render with that repository's own code, as in a PR)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.stackfiles import ROOT

DIFF_TIMEOUT_S = 600


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [path for path in listed.split("\0") if path and (ROOT / path).is_file()]


def copy_project(target: Path) -> None:
    for path in project_files():
        destination = target / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, destination)


@dataclass(frozen=True)
class Repo:
    path: Path

    def git(self, *args: str) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "test",
            "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "test",
            "GIT_COMMITTER_EMAIL": "test@example.invalid",
        }
        return subprocess.run(
            ["git", *args], cwd=self.path, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def replace(self, relative: str, old: str, new: str) -> None:
        """Edit a file of the repository; the old text must be there exactly once."""
        path = self.path / relative
        content = path.read_text()
        assert content.count(old) == 1, f"{old!r} is not in {relative} exactly once"
        path.write_text(content.replace(old, new))

    def diff(self, *args: str) -> tuple[int, str, str]:
        env = {**os.environ, "PYTHONPATH": str(self.path)}
        result = subprocess.run(
            [sys.executable, "-m", "infra", "diff", *args],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=DIFF_TIMEOUT_S,
        )
        return result.returncode, result.stdout, result.stderr


def make_repo(template: Path, target: Path) -> Repo:
    shutil.copytree(template, target)
    repo = Repo(target)
    repo.git("init", "-q", "-b", "main")
    repo.commit("the project as main has it")
    repo.git("checkout", "-q", "-b", "feature")
    return repo
