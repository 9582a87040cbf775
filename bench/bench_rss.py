"""(d) Peak RSS of the whole service (``ingest serve`` and its decode workers, kafka driver,
Postgres) under load.

The baseline is the same service idle: started, joined to its group, nothing consumed yet. Then
the topic receives EVENTS events while HTTP clients post batches; the process tree is sampled
every 50 ms (``_memory.TreePeak``) until every row is in, and the peak of the summed RSS (and of
the summed PSS, shared pages divided among the processes) is printed. Goal: RSS <= 250 MB.
Run: ``.venv/bin/python bench/bench_rss.py [EVENTS]`` (``INGEST_DECODE_WORKERS`` is passed on).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import httpx
import psycopg
from _cpu import CpuMeter, cpu_line
from _ingest import line, make_events, produce
from _memory import TreePeak

from ingest.testing import tansu
from ingest.testing.ports import free_port
from ingest.testing.postgres import fresh_database
from ingest.testing.tansu import create_topic
from schema import EVENT_TABLES
from schema.dialects import POSTGRES as dialect

HTTP_BATCH = 1000
HTTP_REQUESTS = 50


def rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        total = 0
        for spec in EVENT_TABLES.values():
            table = dialect.qualified(spec.name, dialect.DEFAULT_NAMESPACE)
            result = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
            total += int(result[0]) if result else 0
        return total


def wait(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the service did not get there in time")
        time.sleep(0.1)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    bodies = make_events(count)
    posted = make_events(HTTP_BATCH * HTTP_REQUESTS, seed=23)
    print(
        f"(d) peak RSS of `ingest serve` (kafka + Postgres): {count:,} from Kafka, {len(posted):,} over HTTP"
    )
    with tansu.broker() as running, fresh_database("bench") as url:
        broker = running.address
        topic = f"rss-{uuid.uuid4().hex[:8]}"
        create_topic(broker, topic, 3)
        port = free_port()
        env = {
            **os.environ,
            "EVENT_BUS_DRIVER": "kafka",
            "EVENT_BUS_KAFKA_TOPIC": topic,
            "KAFKA_BROKERS": broker,
            "EVENT_BUS_KAFKA_GROUP": f"rss-{uuid.uuid4().hex[:8]}",
            "EVENT_BUS_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "WAREHOUSE_DATABASE_URL": url,
            "INGEST_PORT": str(port),
        }
        subprocess.run(
            [sys.executable, "-m", "ingest.cli", "provision"], env=env, check=True, capture_output=True
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "ingest.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait(lambda: _ready(base), 30)
            time.sleep(4)  # the group join (about half the session timeout on Tansu)
            idle = TreePeak(server.pid)
            idle.sample()

            def post_all() -> None:
                with httpx.Client(base_url=base, timeout=60) as client:
                    for start in range(0, len(posted), HTTP_BATCH):
                        body = b"[" + b",".join(posted[start : start + HTTP_BATCH]) + b"]"
                        while client.post("/v1/events", content=body).status_code == 503:
                            time.sleep(0.5)

            # This process only generates the load: count the service and the broker.
            service_cpu, broker_cpu = CpuMeter(server.pid, own=False), CpuMeter(running.pid, own=False)
            with service_cpu, broker_cpu, TreePeak(server.pid) as peak:
                poster = threading.Thread(target=post_all)
                poster.start()
                produce(broker, topic, bodies)
                poster.join()
                wait(lambda: rows(url) == count + len(posted), 300)
        finally:
            server.terminate()
            server.wait(30)
    processes = f"{peak.processes} process{'es' if peak.processes > 1 else ''}"
    print(line(f"baseline: the same service idle, RSS of its {processes}", idle.rss_mb, "MB"))
    print(line("peak under load, summed RSS", peak.rss_mb, "MB", idle.rss_mb, "<= 250 MB"))
    print(line("peak under load, summed PSS (shared pages divided)", peak.pss_mb, "MB", idle.pss_mb))
    print(line("  each process's own peak (VmHWM), summed", peak.hwm_mb, "MB"))
    events = count + len(posted)
    print(cpu_line("service CPU (`ingest serve`, Kafka + HTTP events)", service_cpu.per_thousand(events)))
    print(cpu_line("Tansu CPU over the same stretch", broker_cpu.per_thousand(events)))


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz").status_code == 200
    except httpx.TransportError:
        return False


if __name__ == "__main__":
    main()
