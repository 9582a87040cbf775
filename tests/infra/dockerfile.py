"""A reader of the project's Dockerfile and .dockerignore, for tests that cannot build the image.

No Docker daemon runs here, so the image's promises (non-root, only the wheel and its runtime
extras, the entrypoint Cloud Run starts) are checked on the text, with the instruction grammar
Docker documents: ``\\`` continues a line, ``#`` starts a comment, ``FROM`` opens a stage, ``ENV``
takes ``KEY=VALUE`` pairs, ``ENTRYPOINT``/``CMD`` in exec (JSON) form. Only what this Dockerfile
uses is understood; anything else is kept as text.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from infra.stackfiles import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for arguments in self.all("ENV"):
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                values[key] = value
        return values

    def exec_form(self, keyword: str) -> list[str]:
        """The last ``keyword`` (ENTRYPOINT or CMD) of the stage, which is the one Docker uses."""
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage"
        argv: list[str] = json.loads(found[-1])
        return argv


@dataclass(frozen=True)
class Dockerfile:
    global_args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def resolve(self, text: str) -> str:
        """``${NAME}`` of a global ARG replaced by its default (what FROM lines use)."""
        return re.sub(r"\$\{(\w+)\}", lambda m: self.global_args.get(m.group(1), m.group(0)), text)


def logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def parse(text: str) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical_lines(text):
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif not stages and keyword == "ARG":
            key, _, default = arguments.partition("=")
            global_args[key] = default
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, arguments))
    return Dockerfile(global_args, stages)


def load() -> Dockerfile:
    return parse(DOCKERFILE.read_text())


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` (relative, ``/``-separated) out of the build context:
    the last matching pattern wins, ``!`` re-includes, a pattern matching a directory covers
    everything under it."""
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        body = body.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(_matches(prefix, body) for prefix in prefixes):
            excluded = not negate
    return excluded


def _matches(path: str, pattern: str) -> bool:
    if pattern.startswith("**/"):
        tail = pattern[3:]
        return any(_matches("/".join(path.split("/")[i:]), tail) for i in range(path.count("/") + 1))
    return path.count("/") == pattern.count("/") and fnmatch.fnmatchcase(path, pattern)


def ignore_patterns(path: Path = DOCKERIGNORE) -> list[str]:
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
