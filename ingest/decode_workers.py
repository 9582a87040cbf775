"""The decode worker processes: one pipe each, one slice of a batch at a time.

A small pool of our own rather than ``concurrent.futures.ProcessPoolExecutor``: with a pipe per
worker, a worker that dies is an ``EOFError`` on its own pipe at once, and a batch never waits on
a pool's manager thread (on Python 3.11 ``ProcessPoolExecutor.shutdown`` could hang after a
worker was killed, seen in this project's tests). Which worker holds which slice is known, so
results come back in order by construction.

Workers are spawned, not forked: the service has threads (librdkafka's among them) whose locks a
fork would copy. They ignore SIGINT and SIGTERM (the service owns shutdown and finishes its drain
through them) and exit when their pipe closes: only the service holds the other end (a spawned
child inherits no descriptor it is not given), so the kernel closes it when the service exits or
is SIGKILLed.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from ingest.step import Columns, decode_raw
from ingest.writers.base import RowEncoder

# How long closing waits for a worker to leave before killing it.
STOP_TIMEOUT_S = 5.0
_READY = "ready"


class WorkerGone(Exception):
    """A worker process died (or its pipe broke); what it held must be decoded elsewhere."""


class Worker:
    """One spawned decode process and the pipe to it."""

    def __init__(self, encode: RowEncoder | None) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self.process: Any = context.Process(
            target=_serve, args=(theirs, encode), name="ingest-decode", daemon=True
        )
        self.process.start()
        theirs.close()

    def wait_ready(self) -> None:
        if self._receive() != _READY:
            raise WorkerGone("a decode worker did not start")

    def send(self, raws: Sequence[bytes], origins: Sequence[str], received_at: datetime) -> None:
        try:
            self._pipe.send((list(raws), list(origins), received_at))
        except (OSError, ValueError) as error:
            raise WorkerGone(str(error)) from error

    def receive(self) -> Columns:
        columns: Columns = self._receive()
        return columns

    def _receive(self) -> Any:
        try:
            return self._pipe.recv()
        except (EOFError, OSError) as error:
            raise WorkerGone(str(error) or type(error).__name__) from error

    def stop(self) -> None:
        self._pipe.close()  # the worker reads EOF and leaves
        self.process.join(STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _serve(pipe: Connection, encode: RowEncoder | None) -> None:
    """A worker's life: set up, say ready, then decode slices until the pipe closes."""
    from ingest.runtime import tune_for_throughput

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    tune_for_throughput()
    pipe.send(_READY)
    while True:
        try:
            raws, origins, received_at = pipe.recv()
        except (EOFError, OSError):
            return
        pipe.send(decode_raw(raws, origins, received_at, encode))
