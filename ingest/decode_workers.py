"""The decode worker processes: one pipe pair each, one slice of a batch at a time.

A small pool of our own rather than ``concurrent.futures.ProcessPoolExecutor``: with a pipe per
worker, a worker that dies is an ``EOFError`` on its own pipe at once, and a batch never waits on a
pool's manager thread (on Python 3.11 ``ProcessPoolExecutor.shutdown`` hung after a worker was
killed, seen in this project's tests). Which worker holds which slice is known, so results come
back in order by construction.

A worker is ``python -m ingest.decode_workers``, started with ``subprocess``: not forked (the
service has threads, librdkafka's among them, whose locks a fork would copy) and not through
``multiprocessing``'s spawn, which re-imports the service's main module in every worker and starts
a resource-tracker process, memory counted against the service for nothing. Workers ignore SIGINT
and SIGTERM (the service owns shutdown and finishes its drain through them) and exit when their
pipe closes: only the service holds the other end, so the kernel closes it when the service exits
or is SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
    """One decode process and the pipes to it. Starting does not wait for it: ``ready`` says
    when it has imported the schema (about a second) and can take slices."""

    def __init__(self, encode: RowEncoder | None) -> None:
        fds: list[int] = []
        try:
            to_worker, from_us = os.pipe()
            fds += (to_worker, from_us)
            to_us, from_worker = os.pipe()
            fds += (to_us, from_worker)
            # -P: the working directory stays off sys.path, so an unrelated ``ingest`` folder where
            # the service was started cannot stand in for this package in the worker.
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-m", "ingest.decode_workers", str(to_worker), str(from_worker)],
                pass_fds=(to_worker, from_worker),
            )
        except OSError as error:  # no file descriptors, no memory, a pids limit
            for fd in fds:
                os.close(fd)
            raise WorkerGone(f"could not start one: {error}") from error
        os.close(to_worker)
        os.close(from_worker)
        self._out = Connection(from_us, readable=False)
        self._in = Connection(to_us, writable=False)
        self._ready = False
        self._killed = False
        self._started = time.monotonic()
        self.send_raw(encode)

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready(self, within: float | None = None) -> bool:
        """Whether the worker has started (without waiting); raises WorkerGone if it died, or
        if it is still not ready ``within`` seconds after it was started (it is killed then)."""
        if not self._ready and self._in.poll(0):
            if self._receive() != _READY:
                raise WorkerGone("a decode worker did not start")
            self._ready = True
        if not self._ready and within is not None and time.monotonic() - self._started > within:
            self.kill()
            raise WorkerGone(f"not ready after {within:.0f} s: killed")
        return self._ready

    def send(self, raws: Sequence[bytes], origins: Sequence[str], received_at: datetime) -> None:
        self.send_raw((list(raws), list(origins), received_at))

    def send_raw(self, value: Any) -> None:
        try:
            self._out.send(value)
        except (OSError, ValueError) as error:
            raise self._gone(error) from error

    def receive(self) -> Columns:
        columns: Columns = self._receive()
        return columns

    def _receive(self) -> Any:
        try:
            return self._in.recv()
        except (EOFError, OSError) as error:
            raise self._gone(error) from error

    def _gone(self, error: BaseException) -> WorkerGone:
        return WorkerGone("no result in time: killed" if self._killed else str(error) or type(error).__name__)

    def kill(self) -> None:
        """SIGKILL the worker (stopped or not): its pipes break, so whoever waits on it gets
        WorkerGone."""
        self._killed = True
        self.process.kill()

    def stop(self) -> None:
        self._out.close()  # the worker reads EOF and leaves
        self._in.close()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(reading: Connection, writing: Connection) -> None:
    """A worker's life: say ready, take the row encoder, then decode slices until the pipe closes."""
    from ingest.runtime import tune_for_throughput

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    tune_for_throughput()
    try:
        encode: RowEncoder | None = reading.recv()
        writing.send(_READY)
        while True:
            raws, origins, received_at = reading.recv()
            writing.send(decode_raw(raws, origins, received_at, encode))
    except (EOFError, OSError):
        return


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
