"""A 202 is a promise: ``ingest serve`` as a process, killed, stopped and signalled while the
warehouse is down, then started again against a warehouse that works."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.writers import open_writer
from schema import EVENT_TABLES
from schema.contract import SECRET_MASK
from tests.ingest.support import count, encode, events, free_port, settings, wait_for


class Served:
    """``python -m ingest.cli serve`` with ``env``, its log in a file."""

    def __init__(self, tmp_path: Path, **env: Any) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"serve-{self.port}.log"
        variables = {**os.environ, "INGEST_PORT": str(self.port), "INGEST_DATA_DIR": str(tmp_path / "data")}
        variables.update({key: str(value) for key, value in env.items()})
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingest.cli", "serve"], env=variables, stdout=log, stderr=log
            )
        wait_for(self._up, timeout=60, what="the server to answer /healthz")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited ({self.process.returncode}):\n{self.log}")
        try:
            return httpx.get(f"{self.base}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def post(self, body: bytes) -> httpx.Response:
        return httpx.post(f"{self.base}/v1/events", content=body, timeout=60)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the server and wait for it to exit (a liveness bound: it must exit at all)."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the server did not exit within {timeout}s of {sig.name}") from None


def unreachable_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/warehouse"


def provisioned(pg_url: str) -> str:
    writer = open_writer(settings(WAREHOUSE_DATABASE_URL=pg_url))
    writer.provision()
    writer.close()
    return pg_url


def event_rows(url: str) -> int:
    return sum(count(url, spec) for spec in EVENT_TABLES.values())


def accept(server: Served, batches: int, size: int = 100) -> int:
    accepted = 0
    for _ in range(batches):
        response = server.post(encode(events(size)))
        assert response.status_code == 202, response.text
        accepted += response.json()["accepted"]
    return accepted


def test_events_accepted_while_the_warehouse_is_down_survive_sigkill(tmp_path: Path, pg_url: str) -> None:
    """Issue 12 (3): 500 of 500 were lost; the spool keeps them and the next start writes them."""
    down = Served(tmp_path, WAREHOUSE_DATABASE_URL=unreachable_url())
    try:
        accepted = accept(down, 5)
    finally:
        down.stop(signal.SIGKILL)
    assert accepted == 500

    up = Served(tmp_path, WAREHOUSE_DATABASE_URL=provisioned(pg_url))
    try:
        wait_for(lambda: event_rows(pg_url) == 500, timeout=60, what="the spooled events to land")
    finally:
        up.stop()
    assert event_rows(pg_url) == 500


def test_sigterm_with_the_warehouse_down_exits_by_the_deadline_and_loses_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    down = Served(tmp_path, WAREHOUSE_DATABASE_URL=unreachable_url(), INGEST_SHUTDOWN_TIMEOUT_S=1)
    try:
        accepted = accept(down, 2)
    finally:
        down.stop()  # used to wait forever for the warehouse
    assert "stay unacknowledged" in down.log

    up = Served(tmp_path, WAREHOUSE_DATABASE_URL=provisioned(pg_url))
    try:
        wait_for(lambda: event_rows(pg_url) == accepted, timeout=60, what="the spooled events to land")
    finally:
        up.stop()


def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    server = Served(tmp_path, WAREHOUSE_DATABASE_URL=unreachable_url(), INGEST_SHUTDOWN_TIMEOUT_S=3600)
    accept(server, 1)
    server.process.send_signal(signal.SIGTERM)
    wait_for(lambda: "Waiting for application shutdown" in server.log, timeout=60, what="the drain to start")
    assert server.stop(signal.SIGTERM) == 128 + signal.SIGTERM


def test_credentials_and_connection_details_stay_out_of_the_banner_logs_and_readyz(tmp_path: Path) -> None:
    """Issue 12 (5): the banner showed ?password=, /readyz the host and database name."""
    url = f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/secret_db?password=hunter2&sslmode=disable"
    server = Served(tmp_path, WAREHOUSE_DATABASE_URL=url, INGEST_SHUTDOWN_TIMEOUT_S=1)
    try:
        ready = httpx.get(f"{server.base}/readyz")
        accept(server, 1, size=5)
        wait_for(lambda: "retrying" in server.log, timeout=60, what="a logged retry")
    finally:
        server.stop()
    assert ready.status_code == 503
    assert ready.json()["checks"]["warehouse"].startswith("unreachable (OperationalError)")
    for detail in ("hunter2", "secret_db", "127.0.0.1"):
        assert detail not in ready.text
    assert "hunter2" not in server.log
    assert f"postgres:{SECRET_MASK}@" in server.log  # the banner still says which warehouse, masked


def test_a_slow_or_vanishing_client_cannot_hold_a_connection_or_log_a_traceback(tmp_path: Path) -> None:
    """Issue 12 (8): a client that declares more than it sends held its connection forever; one
    that hung up mid-body logged a traceback at ERROR."""
    server = Served(tmp_path, INGEST_BODY_TIMEOUT_S=1)
    request = (
        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(request + b'{"event_id": ')
            status = slow.recv(100).split(b" ")[1]
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as vanishing:
            vanishing.sendall(request + b'{"event_id": ')
        wait_for(lambda: "disconnected" in server.log, timeout=30, what="the disconnect to be noticed")
    finally:
        server.stop()
    assert status == b"408"
    assert "Traceback" not in server.log and " ERROR " not in server.log


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"INGEST_HOST": "0.0.0.0"},
            "INGEST_HOST=0.0.0.0 serves beyond this machine without INGEST_API_TOKEN",
        ),
        ({"INGEST_HOST": "not-an-address"}, "INGEST_HOST='not-an-address': expected an IP address"),
        (
            {"INGEST_API_TOKEN": ""},
            "INGEST_API_TOKEN is invalid, an empty token would turn authentication off",
        ),
    ],
)
def test_serve_refuses_an_open_or_invalid_listener_with_exit_code_2(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    """Issue 12 (6, 7): 0.0.0.0 without a token served unauthenticated; a bad host gave rc 3."""
    variables = {**os.environ, "INGEST_DATA_DIR": str(tmp_path), "INGEST_PORT": str(free_port()), **env}
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "serve"],
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
