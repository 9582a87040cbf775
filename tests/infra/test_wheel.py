"""The ingest image's contents, built without Docker: the wheel the Dockerfile's first stage
builds, installed the way its runtime stage installs it, started the way its entrypoint starts it.

These tests install the wheel's runtime dependencies into a FRESH virtualenv from the package
index pip is configured with (pip's cache is reused): about a minute on this machine, so they
carry the ``package_index`` marker (``-m 'not package_index'`` leaves them out). The source tree
is kept off the path (no PYTHONPATH, cwd elsewhere), so what runs is the installed wheel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stackfiles import ROOT
from tests.infra.dockerfile import load

# The fixtures install for minutes on a loaded machine: the suite-wide 300 s would cut them off.
pytestmark = [pytest.mark.package_index, pytest.mark.timeout(900)]

# The module each runtime extra brings (hand-written: the import names of their packages).
EXTRA_MODULES = {
    "bigquery": "google.cloud.bigquery",
    "pubsub": "google.cloud.pubsub_v1",
    "snowflake": "snowflake.connector",
}
INSTALL_TIMEOUT_S = 600


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the source tree on the path or a virtualenv active."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env.update(extra)
    return env


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
    )
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from exactly what the Dockerfile's first stage copies."""
    src = tmp_path_factory.mktemp("context")
    for args in load().stages[0].all("COPY"):
        for source in args.split()[:-1]:
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, src / source, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(origin, src / source)
    out = tmp_path_factory.mktemp("wheels")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(src)], cwd=src)
    (built,) = out.glob("analytics_warehouse-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and the extras the Dockerfile installs."""
    (install,) = [run for run in load().final.all("RUN") if "pip install" in run]
    extras = re.search(r"\[([\w,]+)\]", install)
    assert extras is not None, install
    home = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", str(home)], cwd=home.parent)
    python = str(home / "bin" / "python")
    # --no-compile: byte-compiling the cloud SDKs is a third of the install and proves nothing here.
    run([python, "-m", "pip", "install", "--no-compile", f"{wheel}[{extras.group(1)}]"], cwd=home.parent)
    return home


def test_the_wheel_holds_the_packages_and_their_data_but_no_tests(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    assert {"ingest/cli.py", "schema/schema.lock.json", "schema/generated/events.avsc"} <= names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "ingest = ingest.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_wheel_installs_its_runtime_extras_and_no_dev_tools(venv: Path) -> None:
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "check"], cwd=venv)
    probe = (
        "import importlib.util, ingest.cli\n"
        "print(ingest.__file__)\n"
        f"print([m for m in {sorted(EXTRA_MODULES.values())!r} if not importlib.util.find_spec(m)])\n"
        "print([m for m in ('pytest', 'pulumi', 'mypy') if importlib.util.find_spec(m)])\n"
    )
    lines = run([python, "-c", probe], cwd=venv).stdout.splitlines()

    assert lines[0].startswith(str(venv)), "ingest is imported from the source tree, not the wheel"
    assert lines[1] == "[]", "an extra the image installs is missing"
    assert lines[2] == "[]", "a dev or infra dependency reached the runtime install"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def served(venv: Path, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """The Dockerfile's ENTRYPOINT + CMD with its ENV, run from the fresh venv with Cloud Run's
    PORT set (INGEST_DATA_DIR points into tmp_path instead of the image's directory) and a token,
    as the deployment gives one: the image binds 0.0.0.0, where the service refuses to serve
    without a token or an explicit opt-out."""
    final = load().final
    port = free_port()
    env = clean_env(
        **{
            **final.env(),
            "PORT": str(port),
            "INGEST_DATA_DIR": str(tmp_path / "data"),
            "INGEST_API_TOKEN": "wheel-test-token",
        }
    )
    env.pop("INGEST_PORT", None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    process = subprocess.Popen(
        final.exec_form("ENTRYPOINT") + final.exec_form("CMD"),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_entrypoint_serves_healthz_on_cloud_runs_port(served: tuple[int, subprocess.Popen[str]]) -> None:
    port, process = served
    deadline = time.monotonic() + 120
    answer = None
    while answer is None and process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                answer = (response.status, response.read())
        except OSError:
            time.sleep(0.2)
    if answer is None:
        process.kill()
        output = process.communicate()[0]
        pytest.fail(f"ingest serve never answered /healthz (exit {process.returncode}):\n{output[-3000:]}")
    process.terminate()
    output = process.communicate(timeout=30)[0]

    assert answer[0] == 200 and json.loads(answer[1]) == {"status": "ok"}
    assert f"listening on http://0.0.0.0:{port}" in output
