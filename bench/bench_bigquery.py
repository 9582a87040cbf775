"""The BigQuery writer vs. the fastest raw load into the same stand-in, and the exactly-once options.

STAND-IN FIGURES: everything runs against bqemulator (DuckDB underneath) on this machine, started
here from ``.venv-bqemulator`` (``make install``). They compare designs on the same engine; they
say nothing about BigQuery's own latency (a load or query job there takes ~1-3 s whatever its size).

- baseline: pre-built rows as NDJSON, one load job per table and batch straight into the tables
  (no staging, no dedupe): the fastest way in that this stand-in offers.
- the writer through the sink: raw bytes -> validated rows -> staging load job + MERGE per table.
- the same events again (every one a duplicate): what a redelivery costs.
- the exactly-once options on the same pre-built rows of one table: (A) load job into a staging
  table + MERGE (what the writer does), (B) streaming insert (insert_rows_json) into a staging
  table + MERGE, (D) a MERGE whose source is an array query parameter (no staging table).
- the latency of one small batch through the writer.

Run: ``.venv/bin/python bench/bench_bigquery.py [EVENTS]``.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from _cpu import CpuMeter, cpu_line
from _ingest import Batch, line, make_events, prebuilt, through_sink
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from ingest.runtime import tune_for_throughput
from ingest.testing.ports import free_port
from ingest.writers.bigquery import BigQueryWriter
from ingest.writers.bigquery_merge import merge_statement, ndjson, staging_fields
from schema import EVENT_TABLES, TableSpec, table_for
from schema.dialects import BIGQUERY as dialect
from schema.types import LogicalType

REPO = Path(__file__).resolve().parents[1]
PROJECT = "bench-project"
BATCH = 5000
ORDERS = table_for("order.lifecycle")


@contextmanager
def emulator() -> Iterator[tuple[str, int]]:
    """bqemulator on free ports, through the tests' launcher (no spatial extension): its endpoint
    and its pid."""
    python = REPO / ".venv-bqemulator" / "bin" / "python"
    if not python.exists():
        subprocess.run(["make", "-C", str(REPO), ".venv-bqemulator/.installed"], check=True)
    rest = free_port()
    launcher = REPO / "tests" / "bqemulator" / "launch.py"
    ports = ["--rest-port", str(rest), "--grpc-port", str(free_port())]
    process = subprocess.Popen(
        [str(python), str(launcher), *ports, "--project", PROJECT, "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{rest}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urlopen(f"{endpoint}/bigquery/v2/projects/{PROJECT}/datasets", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield endpoint, process.pid
    finally:
        process.terminate()
        process.wait(30)


def client(endpoint: str) -> bigquery.Client:
    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def fresh_writer() -> BigQueryWriter:
    writer = BigQueryWriter(f"bigquery://{PROJECT}", f"bench_{uuid.uuid4().hex[:10]}")
    writer.provision()
    return writer


def baseline(bq: bigquery.Client, writer: BigQueryWriter, batches: list[Batch]) -> float:
    """Pre-encoded NDJSON, one load job per table and batch, straight into the tables."""
    payloads = [{spec: ndjson(spec, rows) for spec, rows in grouped.items()} for grouped in batches]
    config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON", write_disposition="WRITE_APPEND")
    started = time.perf_counter()
    for grouped in payloads:
        for spec, data in grouped.items():
            table = f"{PROJECT}.{writer.namespace}.{spec.name}"
            bq.load_table_from_file(io.BytesIO(data), table, job_config=config).result()
    return sum(len(rows) for grouped in batches for rows in grouped.values()) / (
        time.perf_counter() - started
    )


def _staging(bq: bigquery.Client, namespace: str, spec: TableSpec) -> str:
    name = f"_bench_staging_{uuid.uuid4().hex}"
    resource = {
        "tableReference": {"projectId": PROJECT, "datasetId": namespace, "tableId": name},
        "schema": {"fields": staging_fields(spec)},
    }
    bq.create_table(bigquery.Table.from_api_repr(resource))
    return name


def option_streaming(bq: bigquery.Client, writer: BigQueryWriter, rows: list[tuple[Any, ...]]) -> float:
    """(B) insert_rows_json into a staging table, then the same MERGE. JSON values go as strings
    (the stand-in refuses objects) and the MERGE parses them; BigQuery takes objects here too."""
    json_columns = [c.name for c in ORDERS.columns if c.type is LogicalType.JSON]
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        staging = _staging(bq, writer.namespace, ORDERS)
        payload = [
            {k: (json.dumps(v) if k in json_columns else v) for k, v in json.loads(line_).items()}
            for line_ in ndjson(ORDERS, chunk).decode().splitlines()
        ]
        errors = bq.insert_rows_json(f"{PROJECT}.{writer.namespace}.{staging}", payload)
        assert not errors, errors[:1]
        statement = merge_statement(ORDERS, writer.namespace, staging, chunk)
        for column in json_columns:
            quoted = dialect.quote(column)
            statement = statement.replace(f"{quoted}, ", f"PARSE_JSON({quoted}) AS {quoted}, ", 1)
        bq.query(statement).result()
        bq.delete_table(f"{PROJECT}.{writer.namespace}.{staging}")
    return len(rows) / (time.perf_counter() - started)


def option_parameter(bq: bigquery.Client, writer: BigQueryWriter, rows: list[tuple[Any, ...]]) -> float:
    """(D) MERGE ... USING UNNEST(@rows): no staging table; every value is a query parameter."""
    kinds = {
        c.name: "STRING" if c.type in (LogicalType.JSON, LogicalType.UUID) else dialect.type_of(c.type)
        for c in ORDERS.columns
    }
    select = ", ".join(
        f"PARSE_JSON(r.{c.name}) AS {c.name}" if c.type is LogicalType.JSON else f"r.{c.name}"
        for c in ORDERS.columns
    )
    columns = ", ".join(ORDERS.column_names)
    values = ", ".join(f"S.{name}" for name in ORDERS.column_names)
    statement = (
        f"MERGE {dialect.qualified(ORDERS.name, writer.namespace)} AS T USING (SELECT {select} "
        f"FROM UNNEST(@rows) AS r) AS S ON T.event_id = S.event_id "
        f"WHEN NOT MATCHED THEN INSERT ({columns}) VALUES ({values})"
    )
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        structs = [
            bigquery.StructQueryParameter(
                None,
                *[
                    bigquery.ScalarQueryParameter(name, kinds[name], str(v) if name == "event_id" else v)
                    for name, v in zip(ORDERS.column_names, row, strict=True)
                ],
            )
            for row in rows[start : start + BATCH]
        ]
        parameter = bigquery.ArrayQueryParameter("rows", "STRUCT", structs)
        bq.query(statement, job_config=bigquery.QueryJobConfig(query_parameters=[parameter])).result()
    return len(rows) / (time.perf_counter() - started)


def option_staging_load(writer: BigQueryWriter, rows: list[tuple[Any, ...]]) -> float:
    """(A) the writer itself: staging table, load job, MERGE, drop."""
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        writer.write({ORDERS: rows[start : start + BATCH]})
    return len(rows) / (time.perf_counter() - started)


def stored(bq: bigquery.Client, writer: BigQueryWriter, spec: TableSpec = ORDERS) -> int:
    result = bq.query(f"SELECT count(*) FROM {dialect.qualified(spec.name, writer.namespace)}").result()
    return int(next(iter(result))[0])


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    bodies = make_events(count)
    tune_for_throughput()
    size = sum(map(len, bodies)) / count
    print(f"BigQuery writer on bqemulator (STAND-IN figures), {count:,} events, {size:.0f} B each")
    print(f"batches of {BATCH}; other work on this 2-core machine moves these figures: run twice")
    with emulator() as (endpoint, emulator_pid):
        os.environ["BIGQUERY_EMULATOR_HOST"] = endpoint
        bq = client(endpoint)
        batches = prebuilt(bodies, BATCH)

        raw = fresh_writer()
        with CpuMeter(emulator_pid) as base_cpu:
            base = baseline(bq, raw, batches)
        print(line("baseline: pre-built NDJSON, load job straight into tables", base, "rows/s"))

        writer = fresh_writer()
        with CpuMeter(emulator_pid) as our_cpu:
            ours = through_sink(writer, bodies, BATCH)
        total = sum(stored(bq, writer, spec) for spec in EVENT_TABLES.values())
        print(
            line(f"writer via sink: validate + staging load + MERGE ({total:,} rows)", ours, "events/s", base)
        )
        print(cpu_line("baseline CPU (this process + bqemulator)", base_cpu.per_thousand(count)))
        base_per_1k = base_cpu.per_thousand(count)
        print(cpu_line("sink CPU (this process + bqemulator)", our_cpu.per_thousand(count), base_per_1k))
        again = through_sink(writer, bodies, BATCH)
        total = sum(stored(bq, writer, spec) for spec in EVENT_TABLES.values())
        print(line(f"the same events again, all duplicates ({total:,} rows)", again, "events/s", base))

        orders = [row for grouped in batches for row in grouped.get(ORDERS, [])]
        print(f"exactly-once options, {len(orders):,} order rows of one table (pre-built):")
        options: list[tuple[str, Callable[[BigQueryWriter], float]]] = [
            ("(A) load job -> staging + MERGE (chosen)", lambda w: option_staging_load(w, orders)),
            ("(B) insert_rows_json -> staging + MERGE", lambda w: option_streaming(bq, w, orders)),
            ("(D) MERGE from an array parameter", lambda w: option_parameter(bq, w, orders[: BATCH // 2])),
        ]
        for label, run in options:
            fresh = fresh_writer()
            rate = run(fresh)
            print(line(f"  {label} [{stored(bq, fresh):,} rows]", rate, "rows/s", base))

        small = fresh_writer()
        latencies: list[float] = []
        for _ in range(5):
            batch = prebuilt(make_events(500, seed=len(latencies) + 11), BATCH)[0]
            started = time.perf_counter()
            small.write(batch)
            latencies.append(time.perf_counter() - started)
        print(
            line(
                "latency of one 500-event batch (median of 5), all tables",
                statistics.median(latencies) * 1000,
                "ms",
            )
        )


if __name__ == "__main__":
    main()
