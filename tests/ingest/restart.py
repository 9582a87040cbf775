"""SIGKILL of a real ``ingest serve`` mid-stream, then a restart that must finish the job.

Shared by the exactly-once tests of every warehouse: the choreography is the same, only the
warehouse's counts differ.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from tests.ingest.support import wait_for

COMMAND = [sys.executable, "-m", "ingest.cli", "serve"]


@dataclass(frozen=True)
class Progress:
    """How to read what has landed: event rows, dead letters, committed bus positions."""

    rows: Callable[[], int]
    dead_letters: Callable[[], int]
    committed: Callable[[], int]


def kill_mid_stream_then_restart(
    env: dict[str, str],
    progress: Progress,
    *,
    kill_after_rows: int,
    events: int,
    dead_letters: int,
    first_timeout: float,
    finish_timeout: float,
) -> subprocess.Popen[bytes]:
    """Start the service, SIGKILL it once ``kill_after_rows`` rows are in (failing if it had
    already finished: the test would prove nothing), start it again and wait until every event,
    every dead letter and every position (events + dead letters) is in; then SIGTERM it. Returns
    the second process, exited."""
    first = subprocess.Popen(COMMAND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: progress.rows() >= kill_after_rows, timeout=first_timeout, what="the first rows")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    assert progress.rows() < events, "the service finished before it was killed; the test proves nothing"

    second = subprocess.Popen(COMMAND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: progress.rows() >= events, timeout=finish_timeout, what=f"all {events} events")
        wait_for(lambda: progress.dead_letters() >= dead_letters, timeout=60, what="dead letters")
        wait_for(
            lambda: progress.committed() == events + dead_letters, timeout=60, what="every position committed"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(60)
    return second
