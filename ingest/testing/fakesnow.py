"""fakesnow's HTTP server (Snowflake's SQL on DuckDB; no Snowflake runs here), for the tests and
the benchmarks: started on a free port, ready once it accepts connections, terminated after.

A real ``snowflake.connector`` reaches it with ``host=127.0.0.1, port=…, protocol=http``. With
``workdir``, the server runs there and keeps its staged files there (its temporary directory).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.testing.ports import free_port

READY_TIMEOUT_S = 60.0


@contextmanager
def server(workdir: Path | None = None) -> Iterator[int]:
    """A running fakesnow server; yields its port."""
    port = free_port()
    env = {**os.environ, "TMPDIR": str(workdir)} if workdir is not None else None
    process = subprocess.Popen(
        [sys.executable, "-m", "fakesnow", "-s", "-p", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the fakesnow server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(30)
