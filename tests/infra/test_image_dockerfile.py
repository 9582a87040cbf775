"""The Dockerfile's promises, checked on its text because no image can be built here (no Docker
daemon): the runtime stage runs as an unprivileged user, installs only the project's wheel with
the extras the service needs at run time, and carries no source tree. tests/infra/test_wheel.py
builds and installs that wheel and starts the entrypoint for real."""

from __future__ import annotations

import re
import subprocess
import tomllib

from infra.stackfiles import ROOT
from tests.infra.dockerfile import ignore_patterns, ignored, load

# What the service imports at run time besides the base dependencies (writers, bus drivers).
RUNTIME_EXTRAS = {"bigquery", "pubsub", "snowflake"}
PACKAGES = ("schema", "infra", "ingest")


def installs(stage_runs: list[str]) -> list[str]:
    return [run for run in stage_runs if re.search(r"\bpip install\b", run)]


def test_the_runtime_stage_runs_as_an_unprivileged_user() -> None:
    final = load().final
    users = final.all("USER")
    keywords = [i.keyword for i in final.instructions]

    assert users, "the runtime stage never leaves root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert any(f"--uid {user}" in run for run in final.all("RUN")), "the user is created with that uid"


def test_the_runtime_stage_installs_the_wheel_with_the_runtime_extras_only() -> None:
    final = load().final
    (install,) = installs(final.all("RUN"))
    extras = re.search(r"\.whl\)?\[([^\]]*)\]", install)

    assert extras is not None, install
    assert set(extras.group(1).split(",")) == RUNTIME_EXTRAS
    assert " -e " not in install and not re.search(r"install\s+\.(\s|$)", install)


def test_the_extras_the_image_installs_are_declared_by_the_package() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    assert declared.keys() >= RUNTIME_EXTRAS
    assert {"dev", "bench", "infra"} <= declared.keys() - RUNTIME_EXTRAS


def test_the_runtime_stage_copies_no_source_tree() -> None:
    final = load().final

    assert final.all("COPY") == [] and final.all("ADD") == []
    assert all("--mount=type=bind,from=wheel" in run for run in installs(final.all("RUN")))


def test_the_base_is_a_slim_python_3_11() -> None:
    dockerfile = load()

    for stage in dockerfile.stages:
        base = dockerfile.resolve(stage.base)
        assert re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*", base), base


def test_cloud_runs_port_reaches_the_service_bound_on_every_address() -> None:
    final = load().final

    assert final.env()["INGEST_HOST"] == "0.0.0.0"
    assert final.exec_form("CMD") == ["serve"]
    script = final.exec_form("ENTRYPOINT")[2]
    assert "${PORT" in script and "INGEST_PORT" in script and "exec ingest" in script


def test_the_build_context_holds_the_package_sources_and_nothing_else() -> None:
    """.dockerignore read with Docker's documented rules (last match wins, ``!`` re-includes)."""
    patterns = ignore_patterns()
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    context = {path for path in tracked if not ignored(path, patterns)}

    packaged = {path for path in tracked if path.split("/")[0] in PACKAGES}
    assert packaged and packaged <= context
    assert context - packaged == {"pyproject.toml", "README.md"}
    for path in (".venv/bin/python", "data/warehouse.duckdb", "ingest/__pycache__/cli.cpython-311.pyc"):
        assert ignored(path, patterns), path


def test_the_wheel_stage_copies_every_package_pyproject_builds() -> None:
    wheel_stage = load().stages[0]
    copied = {source for args in wheel_stage.all("COPY") for source in args.split()[:-1]}

    assert copied >= {*PACKAGES, "pyproject.toml", "README.md"}
