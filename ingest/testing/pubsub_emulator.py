"""Google's Pub/Sub emulator for the tests and benchmarks: start it, create resources, stop it.

The emulator is the Debian package ``google-cloud-cli-pubsub-emulator`` (a JVM). It starts in a few
seconds on an idle machine and much slower on a loaded one, so readiness is polled with a generous
timeout. google-cloud-pubsub reaches it through ``PUBSUB_EMULATOR_HOST``, which ``emulator()`` sets
for its duration (child processes inherit it). Resources are created as the Pulumi program creates
them: the topic without a schema, the ingest subscription pulling with a 60 s ack deadline and a
dead-letter policy, exactly-once delivery off.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.testing.ports import free_port

PACKAGE = "google-cloud-cli-pubsub-emulator"
LAUNCHER = "bin/cloud-pubsub-emulator"
READY_TIMEOUT_S = 180.0
ENV = "PUBSUB_EMULATOR_HOST"
# What the stack's ingest subscription declares (infra/bus.py; the ingest side may not import infra).
ACK_DEADLINE_SECONDS = 60
MAX_DELIVERY_ATTEMPTS = 10


def launcher() -> str:
    """The emulator's launcher script, found through the package's file list."""
    try:
        listing = subprocess.run(["dpkg", "-L", PACKAGE], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise RuntimeError(
            f"the Pub/Sub emulator is not installed (Debian package {PACKAGE}): {error}"
        ) from None
    for line in listing.splitlines():
        if line.endswith("/" + LAUNCHER):
            return line
    raise RuntimeError(f"package {PACKAGE} has no {LAUNCHER}")


def _answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def emulator(ready_timeout: float = READY_TIMEOUT_S) -> Iterator[str]:
    """A fresh emulator on a free port (in-memory, nothing persists); yields ``host:port`` with
    ``PUBSUB_EMULATOR_HOST`` set to it, and restores the variable afterwards."""
    address = f"127.0.0.1:{free_port()}"
    log_dir = Path(tempfile.mkdtemp(prefix="pubsub-emulator-"))
    log_file = (log_dir / "emulator.log").open("wb")
    process = subprocess.Popen(
        [launcher(), "--host=127.0.0.1", f"--port={address.rpartition(':')[2]}"],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the launcher is a shell script that starts java: stop both
    )
    previous = os.environ.get(ENV)
    try:
        deadline = time.monotonic() + ready_timeout
        while not _answers(address):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (log_dir / "emulator.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the Pub/Sub emulator did not become ready at {address}:\n{tail}")
            time.sleep(0.2)
        os.environ[ENV] = address
        yield address
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        _stop(process)
        log_file.close()
        shutil.rmtree(log_dir, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def create_topic(project: str, topic: str) -> str:
    """A topic as the program declares it: no schema (see docs/ingest.md). Returns its path."""
    import google.cloud.pubsub_v1 as pubsub_v1

    publisher: Any = pubsub_v1.PublisherClient()
    path = f"projects/{project}/topics/{topic}"
    publisher.create_topic(name=path)
    return path


def create_subscription(
    project: str,
    topic: str,
    subscription: str,
    *,
    dead_letter_topic: str | None = None,
    ack_deadline_seconds: int = ACK_DEADLINE_SECONDS,
) -> str:
    """The ingest subscription as the program declares it (pull, ack deadline, dead-letter policy
    when ``dead_letter_topic`` is given, exactly-once delivery off). Returns its path."""
    import google.cloud.pubsub_v1 as pubsub_v1

    subscriber: Any = pubsub_v1.SubscriberClient()
    path = f"projects/{project}/subscriptions/{subscription}"
    request: dict[str, Any] = {
        "name": path,
        "topic": f"projects/{project}/topics/{topic}",
        "ack_deadline_seconds": ack_deadline_seconds,
        "enable_exactly_once_delivery": False,
    }
    if dead_letter_topic is not None:
        request["dead_letter_policy"] = {
            "dead_letter_topic": f"projects/{project}/topics/{dead_letter_topic}",
            "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
        }
    with subscriber:
        subscriber.create_subscription(request=request)
    return path


def publish(project: str, topic: str, bodies: list[bytes], timeout: float = 120.0) -> list[str]:
    """Publish ``bodies`` in order of submission; returns the message ids once all are confirmed."""
    import google.cloud.pubsub_v1 as pubsub_v1

    publisher: Any = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=1000, max_bytes=4_000_000, max_latency=0.02)
    )
    path = f"projects/{project}/topics/{topic}"
    futures = [publisher.publish(path, body) for body in bodies]
    ids = [str(future.result(timeout=timeout)) for future in futures]
    publisher.stop()
    return ids
