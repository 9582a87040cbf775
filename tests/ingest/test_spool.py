"""The memory bus's spool on a real disk: order, restart, torn tails, bounds, one owner, and
refusing everything after a failed fsync."""

from __future__ import annotations

import errno
import os
import resource
import signal
import threading
import time
from pathlib import Path

import pytest

from ingest.spool import Spool, SpoolBroken, SpoolBusy, SpoolFull, SpoolPosition
from tests.ingest.support import SpoolFsyncFault

MIB = 1024 * 1024


def read_all(spool: Spool) -> tuple[list[bytes], SpoolPosition | None]:
    records: list[bytes] = []
    last = None
    while True:
        batch, position = spool.read(1000, 0)
        if not batch:
            return records, last
        records += batch
        last = position


def test_records_come_back_in_order_and_a_restart_delivers_what_was_not_committed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", MIB)
    spool.append([b"a", b"b"])
    spool.append([b"c"])
    first, position = spool.read(2, 0)
    assert first == [b"a", b"b"] and position is not None
    spool.commit(position)
    assert spool.read(10, 0)[0] == [b"c"]
    spool.close()  # c was read but never committed

    reopened = Spool(tmp_path / "spool", MIB)
    assert read_all(reopened)[0] == [b"c"]
    reopened.close()


def test_a_torn_last_record_is_cut_off_and_appends_continue_after_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", MIB)
    spool.append([b"kept"])
    spool.close()
    [segment] = (tmp_path / "spool").glob("*.spool")
    with segment.open("ab") as handle:
        handle.write(b"\x00\x00\x00\x10torn")  # a header promising 16 bytes, then a crash

    reopened = Spool(tmp_path / "spool", MIB)
    reopened.append([b"next"])
    assert read_all(reopened)[0] == [b"kept", b"next"]
    reopened.close()


def test_committed_segments_are_deleted_and_the_bound_counts_only_unwritten_bytes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=4096, segment_bytes=1024)
    record = b"x" * 500
    for _ in range(6):  # 6 framed records of 508 bytes: two segments of 1,524
        spool.append([record])
    assert len(list((tmp_path / "spool").glob("*.spool"))) == 2
    with pytest.raises(SpoolFull, match="limit 4096"):
        spool.append([record] * 3)
    records, position = read_all(spool)
    assert records == [record] * 6 and position is not None
    spool.commit(position)
    assert spool.unacknowledged_bytes == 0
    assert len(list((tmp_path / "spool").glob("*.spool"))) == 1  # only the one still written to
    spool.append([record] * 3)  # room again
    spool.close()


def test_a_second_process_cannot_open_the_same_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", MIB)
    with pytest.raises(SpoolBusy):
        Spool(tmp_path / "spool", MIB)
    spool.close()


def test_a_spool_directory_whose_parent_does_not_exist_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Spool(tmp_path / "missing" / "spool", MIB)
    assert not (tmp_path / "missing").exists()


def test_concurrent_appends_share_fsyncs_and_every_record_comes_back_once_in_each_writers_order(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool", 64 * MIB, segment_bytes=4096)  # small segments: rolls under load
    writers = 8

    def write(writer: int) -> None:
        for index in range(50):
            spool.append([f"{writer}:{index}".encode(), f"{writer}:{index}b".encode()])

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records, _ = read_all(spool)
    spool.close()
    assert sorted(records) == sorted(
        f"{w}:{i}{s}".encode() for w in range(writers) for i in range(50) for s in ("", "b")
    )
    for writer in range(writers):
        mine = [record for record in records if record.startswith(f"{writer}:".encode())]
        assert mine == [f"{writer}:{i}{s}".encode() for i in range(50) for s in ("", "b")]


def test_a_record_accepted_after_the_disk_refused_one_is_read_back_and_the_refused_one_never(
    tmp_path: Path,
) -> None:
    """A refused append left its frames in a write buffer, written later ahead of the next
    (acknowledged) record, which the reader then never reached. The disk filling up is stood in
    for by this process's file size limit (RLIMIT_FSIZE), lifted again after the refusal."""
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    spool.append([b"a" * 1000])
    [segment] = (tmp_path / "spool").glob("*.spool")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (segment.stat().st_size + 1500, hard))
        with pytest.raises(SpoolFull, match="refused"):
            spool.append([b"b" * 1000, b"c" * 1000])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    spool.append([b"d" * 1000])
    records, _ = spool.read(10, timeout=1.0)
    spool.close()
    assert [record[:1] for record in records] == [b"a", b"d"]


def test_after_a_failed_fsync_nothing_is_acknowledged_until_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection (SpoolFsyncFault): one segment fsync fails, every later one succeeds."""
    fault = SpoolFsyncFault()
    monkeypatch.setattr(os, "fsync", fault)
    spool = Spool(tmp_path / "spool", MIB)
    spool.append([b"acknowledged"])
    fault.armed.set()

    with pytest.raises(SpoolBroken, match=r"fsync \(Input/output error\)"):
        spool.append([b"refused"])
    with pytest.raises(SpoolBroken):
        spool.append([b"after"])  # the real fsync would now report success
    assert spool.broken is not None and "restarts" in spool.broken
    assert read_all(spool)[0] == [b"acknowledged"]  # what an fsync confirmed is still delivered
    spool.close()

    reopened = Spool(tmp_path / "spool", MIB)
    reopened.append([b"next"])
    assert read_all(reopened)[0][-1] == b"next"
    reopened.close()


def test_an_append_waiting_behind_a_failing_fsync_is_refused_not_synced_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection (SpoolFsyncFault): the first append's fsync fails while a second append,
    written behind it, waits for its turn to sync; the second's own fsync would succeed."""
    fault = SpoolFsyncFault()
    monkeypatch.setattr(os, "fsync", fault)
    spool = Spool(tmp_path / "spool", MIB)
    fault.release.clear()
    fault.armed.set()
    outcomes: dict[str, BaseException | None] = {}

    def append(record: bytes) -> None:
        try:
            spool.append([record])
            outcomes[record.decode()] = None
        except SpoolFull as error:
            outcomes[record.decode()] = error

    first = threading.Thread(target=append, args=(b"first",))
    first.start()
    assert fault.reached.wait(10)
    second = threading.Thread(target=append, args=(b"second",))
    second.start()
    deadline = time.monotonic() + 10
    while spool.unacknowledged_bytes < 2 * 8 + len(b"first") + len(b"second"):
        assert time.monotonic() < deadline, "the second append never wrote its record"
        time.sleep(0.01)
    fault.release.set()
    first.join(10)
    second.join(10)
    spool.close()
    assert {name: type(error) for name, error in outcomes.items()} == {
        "first": SpoolBroken,
        "second": SpoolBroken,
    }


def test_after_a_failed_truncate_nothing_is_acknowledged_until_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk refuses a write for real (this process's file size limit, RLIMIT_FSIZE); cutting
    the partial frames off again fails by fault injection (os.ftruncate raises EIO): the file's
    tail is then unknown, so the spool must take nothing more, even once the disk has room."""
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    spool.append([b"a" * 1000])
    [segment] = (tmp_path / "spool").glob("*.spool")

    def refuse(descriptor: int, length: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "ftruncate", refuse)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (segment.stat().st_size + 1500, hard))
        with pytest.raises(SpoolBroken, match=r"truncate \(Input/output error\)"):
            spool.append([b"b" * 1000, b"c" * 1000])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    monkeypatch.undo()
    with pytest.raises(SpoolBroken):
        spool.append([b"d"])
    assert read_all(spool)[0] == [b"a" * 1000]
    spool.close()


def test_a_failed_fsync_when_rolling_to_a_new_segment_breaks_the_spool_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection (SpoolFsyncFault): the fsync of the full segment, before the next opens."""
    fault = SpoolFsyncFault()
    monkeypatch.setattr(os, "fsync", fault)
    spool = Spool(tmp_path / "spool", MIB, segment_bytes=16)
    spool.append([b"x" * 16])  # the segment is full: the next append rolls
    fault.armed.set()

    with pytest.raises(SpoolBroken, match="segment roll"):
        spool.append([b"y"])
    with pytest.raises(SpoolBroken):
        spool.append([b"z"])
    assert read_all(spool)[0] == [b"x" * 16]
    spool.close()
