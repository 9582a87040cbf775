"""A throwaway Postgres cluster that tests stop and start (never the shared server), and time that
passes only as a test lets it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from tests.ingest.support import free_port

BIN = Path(
    subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
)


def _as_postgres(*command: str) -> None:
    """initdb and pg_ctl refuse root: run them as the ``postgres`` OS user."""
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, timeout=120
    )


class ThrowawayPostgres:
    """A cluster of its own in a temporary directory, on a free port, trust auth."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="ingest-outage-", dir="/tmp"))
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.port = free_port()
        _as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        _as_postgres(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


class SteppedTime:
    """An injected clock and sleep: time passes only inside ``sleep``, by what was asked, and a
    test can hold the sleeper (``hold``) to change the world before that time passes."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._changed = threading.Condition()
        self._held = False
        self._sleeping = False

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._changed:
            self._sleeping = True
            self._changed.notify_all()
            self._changed.wait_for(lambda: not self._held)
            self._sleeping = False
            self.now += seconds
            self.slept.append(seconds)
            self._changed.notify_all()
        time.sleep(0.001)  # a real breath, so a retry loop does not spin a core

    def hold(self, timeout: float = 30.0) -> float:
        """Stop time at the next sleep; return the time at which the sleeper is held."""
        with self._changed:
            self._held = True
            if not self._changed.wait_for(lambda: self._sleeping, timeout):
                raise AssertionError("nothing went to sleep")
            return self.now

    def release(self) -> None:
        with self._changed:
            self._held = False
            self._changed.notify_all()

    def wait_until(self, moment: float, timeout: float = 30.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.now >= moment, timeout):
                raise AssertionError(f"time did not reach {moment} (it is {self.now})")
