"""Decoding in worker processes: the same results as in the calling thread, into real warehouses,
and no loss or leftover process when a worker or the service itself is killed."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.decoding import Decoder, _cgroup_cpu_quota, worker_count
from ingest.messages import Message
from ingest.sink import Sink
from ingest.step import decode, decode_raw
from ingest.writers import Writer
from ingest.writers.postgres_rows import encode_row
from schema import DEAD_LETTER_TABLE, table_for
from tests.ingest.support import encode, event, events, rows, wait_for
from tests.ingest.test_sink import BAD_INPUT

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def mixed_stream() -> tuple[list[Message], list[dict[str, Any] | None]]:
    """Valid events of every family, every kind of bad input and duplicates, interleaved; with
    the body each message was made from (None for bad input)."""
    good = events(60)
    stream: list[Message] = []
    bodies: list[dict[str, Any] | None] = []
    for index, body in enumerate(good + good[:10]):
        stream.append(Message(encode(body), f"test:{len(stream)}"))
        bodies.append(body)
        if index < len(BAD_INPUT):
            raw, _ = list(BAD_INPUT.values())[index]
            stream.append(Message(raw, f"test:{len(stream)}"))
            bodies.append(None)
    return stream, bodies


def test_workers_decode_each_input_into_its_table_key_and_rule_in_order() -> None:
    stream, bodies = mixed_stream()
    decoder = Decoder(2, encode_row, min_slice=7)
    try:
        decoder.start(wait=True)
        decoded = decoder.decode(stream, NOW)
    finally:
        decoder.close()
    rules = iter(rule for _, rule in BAD_INPUT.values())
    assert len(decoded) == len(stream)
    for item, message, body in zip(decoded, stream, bodies, strict=True):
        assert item.message is message
        if body is None:
            assert (item.table, item.rule) == (DEAD_LETTER_TABLE.name, next(rules))
        else:
            assert item.table == table_for(body["category"]).name and item.rule is None
            assert item.key == uuid.UUID(body["event_id"]).bytes
        assert isinstance(item.row, bytes)
    # The calling thread's decoding is the same function: rows must match byte for byte.
    assert [item[:4] for item in decoded] == [item[:4] for item in decode(stream, NOW, encode_row)]


def sink_with_workers(writer: Writer, *, workers: int, batch_size: int, min_slice: int) -> Sink:
    """A started sink whose workers are ready (until then it would decode in the calling thread)."""
    sink = Sink(
        writer,
        batch_size=batch_size,
        flush_interval_s=0.05,
        max_buffer_bytes=1 << 24,
        decode_workers=workers,
        decode_min_slice=min_slice,
    ).start()
    sink.decoder.start(wait=True)
    return sink


def test_a_sink_decoding_in_workers_lands_each_event_once_and_every_dead_letter(writer: Writer) -> None:
    stream, bodies = mixed_stream()
    sink = sink_with_workers(writer, workers=2, batch_size=40, min_slice=5)
    sink.add(stream)
    assert sink.close(timeout=60)
    valid = {body["event_id"]: body for body in bodies if body is not None}
    for category in ("order.lifecycle", "driver.telemetry", "campaign.interaction"):
        spec = table_for(category)
        stored = {str(event_id) for (event_id,) in rows(writer.url, spec, "event_id")}
        assert stored == {key for key, body in valid.items() if body["category"] == category}
    letters = sorted(rule for (rule,) in rows(writer.url, DEAD_LETTER_TABLE, "error_rule"))
    assert letters == sorted(rule for _, rule in BAD_INPUT.values())


def test_a_row_decoded_in_a_worker_keeps_the_event_whole(writer: Writer) -> None:
    body = event(payload={"order_id": "o-9", "unknown_field": {"kept": [1, 2.5, None]}}, actor=None)
    body["occurred_at"] = "2026-11-25T10:00:00.123456+01:00"
    sink = sink_with_workers(writer, workers=1, batch_size=10, min_slice=1)
    sink.add([Message(encode(body), "test:0")])
    assert sink.close(timeout=60)
    [(event_id, order_id, actor_type, payload, occurred_at, context)] = rows(
        writer.url,
        table_for("order.lifecycle"),
        "event_id, order_id, actor_type, payload, occurred_at, context",
    )
    assert str(event_id) == body["event_id"] and (order_id, actor_type) == ("o-9", None)
    assert (payload if isinstance(payload, dict) else json.loads(payload)) == body["payload"]
    assert (context if isinstance(context, dict) else json.loads(context)) == body["context"]
    assert occurred_at == datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=UTC)


def test_a_killed_worker_costs_nothing_and_new_workers_take_over() -> None:
    stream = [Message(encode(body), f"test:{index}") for index, body in enumerate(events(40))]
    expected = [uuid.UUID(json.loads(m.raw)["event_id"]).bytes for m in stream]
    decoder = Decoder(2, encode_row, min_slice=5)
    try:
        decoder.start(wait=True)
        first = decoder.worker_pids
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        wait_for(lambda: not _alive(first[0]), timeout=10)
        assert [item.key for item in decoder.decode(stream, NOW)] == expected
        assert [item.key for item in decoder.decode(stream, NOW)] == expected
        # Whether the pool noticed the death before or during the first batch, the dead worker is
        # gone and workers are running again.
        decoder.start(wait=True)
        second = decoder.worker_pids
        assert len(second) == 2 and first[0] not in second
    finally:
        decoder.close()
    assert decoder.worker_pids == [] and not any(map(_alive, first + second))


ORPHAN_SCRIPT = """
import sys, time
from ingest.decoding import Decoder
from ingest.writers.postgres_rows import encode_row
decoder = Decoder(2, encode_row)
decoder.start(wait=True)
print(" ".join(map(str, decoder.worker_pids)), flush=True)
time.sleep(600)
"""


def test_workers_exit_when_the_service_is_sigkilled() -> None:
    process = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        pids = [int(pid) for pid in process.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    finally:
        process.kill()
        process.wait()
    wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=10)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(("configured", "expected"), [(0, 0), (3, 3)])
def test_the_configured_worker_count_wins(configured: int, expected: int) -> None:
    assert worker_count(configured) == expected


AFFINITY_SCRIPT = """
import os, sys
os.sched_setaffinity(0, {int(cpu) for cpu in sys.argv[1].split(",")})
from ingest.decoding import worker_count
print(worker_count(None))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to pin to")
@pytest.mark.parametrize(("cpus", "expected"), [("0", 0), ("0,1", 1)])
def test_the_default_is_one_worker_per_usable_cpu_but_one(cpus: str, expected: int) -> None:
    usable = sorted(os.sched_getaffinity(0))
    pinned = ",".join(str(usable[int(index)]) for index in cpus.split(","))
    printed = subprocess.run(
        [sys.executable, "-c", AFFINITY_SCRIPT, pinned], capture_output=True, text=True, check=True
    ).stdout
    assert int(printed) == expected


@pytest.mark.parametrize(("text", "expected"), [("max 100000", None), ("150000 100000", 1.5), ("", None)])
def test_a_cgroup_cpu_quota_is_read(tmp_path: Any, text: str, expected: float | None) -> None:
    path = tmp_path / "cpu.max"
    path.write_text(text)
    assert _cgroup_cpu_quota(str(path)) == expected


def test_workers_import_this_package_whatever_the_working_directory(tmp_path: Any) -> None:
    """A folder named ``ingest`` where the service is started must not stand in for the package."""
    (tmp_path / "ingest").mkdir()
    (tmp_path / "ingest" / "__init__.py").write_text('raise SystemExit("the wrong ingest package")\n')
    script = "import sys; sys.path.pop(0)\n" + ORPHAN_SCRIPT.replace("time.sleep(600)", "decoder.close()")
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.split()) == 2


def test_a_hung_worker_is_killed_and_its_batch_decoded_here(caplog: pytest.LogCaptureFixture) -> None:
    """A stopped worker (SIGSTOP, a livelock) must not stall the pump forever: consumption would
    stop silently while /healthz stays 200. Past the bound the worker is killed, the batch is
    decoded in the calling thread, and new workers start."""
    stream = [Message(encode(body), f"test:{index}") for index, body in enumerate(events(400))]
    expected = [uuid.UUID(json.loads(m.raw)["event_id"]).bytes for m in stream]
    decoder = Decoder(1, encode_row, min_slice=5, worker_timeout_s=1.0)
    stopped: list[int] = []
    try:
        decoder.start(wait=True)
        stopped = decoder.worker_pids
        os.kill(stopped[0], signal.SIGSTOP)  # idle, so the batch's slice (over 64 KiB) fills its pipe
        result: list[list[bytes]] = []
        pump = threading.Thread(target=lambda: result.append([i.key for i in decoder.decode(stream, NOW)]))
        pump.start()
        pump.join(timeout=20)
        assert not pump.is_alive(), "the pump hangs on a stopped decode worker"
        assert result == [expected]
        errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
        assert len(errors) == 1 and "no result in time" in errors[0], errors
        wait_for(lambda: not _alive(stopped[0]), timeout=10)
        decoder.start(wait=True)
        assert len(decoder.worker_pids) == 1 and stopped[0] not in decoder.worker_pids
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        decoder.close()


# Text the DuckDB CSV line must quote or keep as is, and Postgres' binary COPY must carry whole.
NASTY_TEXT = [
    'say "hi", then leave',
    "line\nbreak",
    "carriage\rreturn",
    "crlf\r\nend",
    "\r\n",
    '"',
    '""',
    ",",
    " padded ",
    " ",
    "\t",
    "NULL",
    "\\N",
    "caf\u00e9 \U0001f600 \u2028 \u200b",
    "'single'",
]
EXACT_FLOATS = [0.1 + 0.2, 5e-324, -89.99999999999999, 1e-300, 0.0]


def test_rows_encoded_in_a_worker_store_every_text_and_float_exactly(writer: Writer) -> None:
    """What the row encoders make (DuckDB: a CSV line) reads back as the input JSON's values:
    quotes, separators, whitespace-only text, "NULL" as text, an absent field as NULL, floats."""
    orders = [
        event(
            source=text,
            actor={"type": "customer", "id": text},
            context={"text": text},
            payload={"order_id": text, "branch_id": text, "note": text},
        )
        for text in NASTY_TEXT
    ]
    fixes = [
        event(
            "driver.telemetry",
            "location_updated",
            payload={"driver_id": "d", "latitude": value, "longitude": -value, "speed_kmh": abs(value)},
        )
        for value in EXACT_FLOATS
    ]
    stream = [Message(encode(body), f"test:{index}") for index, body in enumerate(orders + fixes)]
    sink = sink_with_workers(writer, workers=1, batch_size=100, min_slice=1)
    sink.add(stream)
    assert sink.close(timeout=60)
    columns = "event_id, source, actor_id, context, order_id, branch_id, customer_id, payload"
    stored = {
        str(row[0]): (*row[1:3], _json(row[3]), *row[4:7], _json(row[7]))
        for row in rows(writer.url, table_for("order.lifecycle"), columns)
    }
    assert stored == {
        body["event_id"]: (
            body["source"],
            body["actor"]["id"],
            body["context"],
            body["payload"]["order_id"],
            body["payload"]["branch_id"],
            None,  # absent: NULL, though CSV writes NULL and empty text alike
            body["payload"],
        )
        for body in orders
    }
    columns = "event_id, latitude, longitude, speed_kmh"
    positions = {str(row[0]): row[1:] for row in rows(writer.url, table_for("driver.telemetry"), columns)}
    assert positions == {
        body["event_id"]: tuple(body["payload"][name] for name in ("latitude", "longitude", "speed_kmh"))
        for body in fixes
    }


def _json(value: Any) -> Any:
    """A JSON column's value: Postgres' driver parses jsonb, DuckDB returns the text."""
    return json.loads(value) if isinstance(value, str) else value


def test_rejected_inputs_leave_no_reference_cycle_holding_their_bodies() -> None:
    """The service and its workers make cyclic GC rare (``ingest.runtime``: 50,000 allocations
    between collections), so a body kept alive by a cycle stays until then: a burst of large bad
    inputs (measured: a worker grew by ~130 MB per slice of 16 x 4 MB rejected bodies, slice after
    slice) outgrows any memory bound. Every kind of rejected input must be freed by refcount."""
    raws = [raw for raw, _ in BAD_INPUT.values()]
    origins = [f"test:{index}" for index in range(len(raws))]
    decode_raw(raws, origins, NOW, encode_row)  # first use: imports and caches, not garbage
    gc.collect()
    gc.disable()
    try:
        steps = decode_raw(raws, origins, NOW, encode_row)
        del steps
        assert gc.collect() == 0
    finally:
        gc.enable()


NO_FDS_SCRIPT = """
import os, resource
from datetime import UTC, datetime
from ingest.decoding import Decoder
from ingest.messages import Message
from ingest.writers.postgres_rows import encode_row
from tests.ingest.support import encode, events
stream = [Message(encode(body), f"test:{index}") for index, body in enumerate(events(300))]
decoder = Decoder(2, encode_row)
open_now = len(os.listdir("/proc/self/fd"))
resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
decoder.start()
for _ in range(3):
    assert [item.rule for item in decoder.decode(stream, datetime.now(UTC))] == [None] * len(stream)
decoder.close()
print("decoded", flush=True)
"""


def test_workers_that_cannot_start_leave_decoding_to_the_caller() -> None:
    """A worker that cannot be started (out of file descriptors here; a container's pids limit,
    ENOMEM) must cost what a dead one costs: the batch decoded in the caller and one error line,
    not the bus pump stopped by an OSError (the service restarted, to fail the same way)."""
    done = subprocess.run(
        [sys.executable, "-c", NO_FDS_SCRIPT], capture_output=True, text=True, timeout=60, cwd=os.getcwd()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["decoded"]
    errors = [line for line in done.stderr.splitlines() if "decode worker" in line]
    assert len(errors) == 1 and "Too many open files" in errors[0], done.stderr[-2000:]


def test_a_valid_event_of_several_megabytes_lands_as_a_row(writer: Writer) -> None:
    """The HTTP intake takes bodies up to 5 MB, the buses more; the warehouse stores any size. A
    staged CSV line past DuckDB's reader's 2 MB default line limit was refused, and the valid event
    dead-lettered as a warehouse refusal."""
    body = event(context={"blob": 'x"' * 1_500_000})
    sink = sink_with_workers(writer, workers=1, batch_size=10, min_slice=1)
    sink.add([Message(encode(body), "test:0")])
    assert sink.close(timeout=60)
    assert rows(writer.url, DEAD_LETTER_TABLE, "error_rule") == []
    [(event_id, context)] = rows(writer.url, table_for("order.lifecycle"), "event_id, context")
    assert (str(event_id), _json(context)) == (body["event_id"], body["context"])


def test_a_worker_that_never_becomes_ready_is_killed_not_waited_for_silently() -> None:
    """A worker stopped before it said ready would leave every batch to the caller, with no error
    and a stuck process, for the life of the service."""
    stream = [Message(encode(body), f"test:{index}") for index, body in enumerate(events(300))]
    decoder = Decoder(1, encode_row, min_slice=5, worker_timeout_s=1.0)
    decoder.start()
    [stuck] = decoder.worker_pids
    os.kill(stuck, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 20
        while _alive(stuck) and time.monotonic() < deadline:
            assert len(decoder.decode(stream, NOW)) == len(stream)
            time.sleep(0.1)
        assert not _alive(stuck), "a worker that never started is still there, and never used"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(stuck, signal.SIGKILL)
        decoder.close()
