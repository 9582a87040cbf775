"""A local spool: what ``POST /v1/events`` accepted on the memory bus, on disk before the 202.

Append-only segment files of framed records (length, CRC-32, bytes), each append fsync'ed before
it returns, so an accepted event survives SIGKILL and power loss. Concurrent appends share
fsyncs (group commit): one caller syncs the file while the others write behind it, and a caller
whose records an earlier sync already covered returns at once. One reader (the pump) reads synced
records back in order; ``commit`` records, atomically, how far the warehouse has taken them, and
deletes segments wholly behind that point. A restart reads on from the last commit: what was in
flight is delivered again, and the idempotent writes absorb it. A torn record at the end (a crash
mid-append, never acknowledged) is cut off when the spool opens.

Bounded: an append that would take the unacknowledged bytes past ``max_bytes`` raises SpoolFull
(HTTP answers 503), as does a failing disk. One process per spool: a second one is refused.

A failed fsync (or a failed truncate, or a failed segment roll) breaks the spool for good: Linux
may have dropped the dirty pages it could not write and marked them clean, so a later fsync would
report success for records that are not on disk ("fsyncgate"). From then on every append raises
SpoolBroken (503, nothing acknowledged) until a restart reads the files back and checks each
record; records an earlier fsync confirmed are still read and delivered.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_HEADER = struct.Struct(">II")  # payload length, CRC-32 of the payload
SEGMENT_BYTES = 64 * 1024 * 1024
_CHECKPOINT = "checkpoint"
_LOCK = "lock"
_SUFFIX = ".spool"


class SpoolFull(Exception):
    """The spool cannot take these records now (bound reached or the disk refused)."""


class SpoolBroken(SpoolFull):
    """The disk failed an fsync or a truncate: nothing more is taken until the service restarts."""


class SpoolBusy(Exception):
    """Another process holds the spool."""


@dataclass(frozen=True, order=True)
class SpoolPosition:
    """Just after a record: its segment and the byte offset there."""

    segment: int
    offset: int


def _segment_name(number: int) -> str:
    return f"{number:012d}{_SUFFIX}"


class Spool:
    """See the module docstring. ``append`` is thread-safe; ``read`` belongs to one reader."""

    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        directory.mkdir(exist_ok=True)  # the leaf only: a mistyped parent is an error, not a new tree
        self._lock_file = (directory / _LOCK).open("a")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise SpoolBusy(f"{directory} is in use by another ingest process") from None
        self._appended = threading.Condition()
        self._committed = self._read_checkpoint()
        self._sizes: dict[int, int] = {}
        for path in sorted(directory.glob(f"*{_SUFFIX}")):
            number = int(path.name.removesuffix(_SUFFIX))
            if number < self._committed.segment:
                path.unlink()
            else:
                self._sizes[number] = path.stat().st_size
        self._segment = max(self._sizes, default=self._committed.segment)
        self._sizes[self._segment] = self._valid_length(self._segment)
        self._file = _open_segment(directory / _segment_name(self._segment))
        self._file.truncate(self._sizes[self._segment])  # a torn, never-acknowledged last record
        os.fsync(self._file.fileno())
        self._durable = SpoolPosition(self._segment, self._sizes[self._segment])
        self._syncing = threading.Lock()  # one fsync at a time
        self._read_at = self._committed
        self._reader: BinaryIO | None = None
        self._reader_segment = -1
        self._closed = False
        self.broken: str | None = None  # why appends are refused until a restart

    # -- appending -------------------------------------------------------------------------

    @property
    def unacknowledged_bytes(self) -> int:
        with self._appended:
            return self._unacknowledged()

    def _unacknowledged(self) -> int:
        return sum(size for number, size in self._sizes.items() if number >= self._committed.segment) - (
            self._committed.offset
        )

    def append(self, records: Sequence[bytes]) -> None:
        """Write ``records`` and fsync them; on return they survive a crash."""
        frames = b"".join(_HEADER.pack(len(record), zlib.crc32(record)) + record for record in records)
        with self._appended:
            if self._closed:
                raise SpoolFull("the spool is closed (the service is stopping)")
            if self.broken is not None:
                raise SpoolBroken(self.broken)
            used = self._unacknowledged()
            if used and used + len(frames) > self.max_bytes:
                raise SpoolFull(f"the spool holds {used} unwritten bytes (limit {self.max_bytes})")
            if self._sizes[self._segment] >= self.segment_bytes:
                self._roll()
            start = self._sizes[self._segment]
            try:
                _write_all(self._file, frames)
            except OSError as error:
                # Unbuffered, so nothing of the refused frames waits to be written later, where
                # the reader does not expect it (it reads by the sizes recorded here).
                try:
                    os.ftruncate(self._file.fileno(), start)
                except OSError as failure:
                    raise self._break("truncate", failure) from None
                raise SpoolFull(f"the spool's disk refused the events: {error.strerror}") from None
            self._sizes[self._segment] = start + len(frames)
            mine = SpoolPosition(self._segment, start + len(frames))
        self._sync(mine)

    def _sync(self, mine: SpoolPosition) -> None:
        """Return once everything up to ``mine`` is on disk, syncing it unless another caller's
        fsync already did."""
        with self._syncing:
            with self._appended:
                if self._durable >= mine:
                    return
                if self.broken is not None:  # an fsync failed after these records were written
                    raise SpoolBroken(self.broken)
                target = SpoolPosition(self._segment, self._sizes[self._segment])
                descriptor = os.dup(self._file.fileno())  # stays valid if the segment rolls meanwhile
            try:
                os.fsync(descriptor)
            except OSError as error:
                raise self._break("fsync", error) from None
            finally:
                os.close(descriptor)
            with self._appended:
                self._durable = max(self._durable, target)
                self._appended.notify_all()

    def _break(self, call: str, error: OSError) -> SpoolBroken:
        """Refuse every later append; the error to raise now. Says neither path nor file."""
        self.broken = (
            f"the spool's disk failed: {call} ({error.strerror or type(error).__name__}); "
            "it takes no events until the service restarts"
        )
        return SpoolBroken(self.broken)

    def _roll(self) -> None:
        try:
            self._roll_segment()
        except OSError as error:
            raise self._break("segment roll", error) from None

    def _roll_segment(self) -> None:
        os.fsync(self._file.fileno())
        self._durable = max(self._durable, SpoolPosition(self._segment, self._sizes[self._segment]))
        self._file.close()
        self._segment += 1
        self._sizes[self._segment] = 0
        self._file = _open_segment(self.directory / _segment_name(self._segment))
        _fsync_directory(self.directory)

    # -- reading and committing ------------------------------------------------------------

    def read(self, max_records: int, timeout: float) -> tuple[list[bytes], SpoolPosition | None]:
        """Up to ``max_records`` records after the last read, waiting up to ``timeout`` seconds."""
        with self._appended:
            if not self._available():
                self._appended.wait(timeout)
            if self._closed or not self._available():
                return [], None
            at = self._read_at
            end = self._durable.offset if at.segment == self._durable.segment else self._sizes[at.segment]
        if self._reader_segment != self._read_at.segment:
            if self._reader is not None:
                self._reader.close()
            self._reader = (self.directory / _segment_name(self._read_at.segment)).open("rb")
            self._reader_segment = self._read_at.segment
        assert self._reader is not None
        self._reader.seek(self._read_at.offset)
        data = self._reader.read(min(end - self._read_at.offset, max(max_records, 1) * 4096))
        records: list[bytes] = []
        offset = 0
        while len(records) < max_records and offset + _HEADER.size <= len(data):
            length, _ = _HEADER.unpack_from(data, offset)
            if offset + _HEADER.size + length > len(data):
                if not records:  # one record longer than the read: read exactly it
                    self._reader.seek(self._read_at.offset)
                    data = self._reader.read(_HEADER.size + length)
                    continue
                break
            records.append(data[offset + _HEADER.size : offset + _HEADER.size + length])
            offset += _HEADER.size + length
        self._read_at = SpoolPosition(self._read_at.segment, self._read_at.offset + offset)
        position = self._read_at
        with self._appended:
            if (
                self._read_at.offset >= self._sizes[self._read_at.segment]
                and self._read_at.segment < self._segment
            ):
                self._read_at = SpoolPosition(self._read_at.segment + 1, 0)
        return records, position if records else None

    def _available(self) -> bool:
        """Synced records after the read position (or a finished segment to move past)."""
        return self._read_at < self._durable

    def commit(self, position: SpoolPosition) -> None:
        """Everything up to ``position`` is in the warehouse: record it, drop whole segments."""
        with self._appended:
            if position <= self._committed or self._closed:
                return
            self._committed = position
        temporary = self.directory / f"{_CHECKPOINT}.tmp"
        with temporary.open("w") as handle:
            handle.write(f"{position.segment} {position.offset}\n")
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.directory / _CHECKPOINT)
        _fsync_directory(self.directory)
        with self._appended:
            for number in [n for n in self._sizes if n < position.segment]:
                del self._sizes[number]
                (self.directory / _segment_name(number)).unlink(missing_ok=True)

    def close(self) -> None:
        with self._appended:
            self._closed = True
            self._appended.notify_all()
            self._file.close()
        if self._reader is not None:
            self._reader.close()
        self._lock_file.close()

    # -- opening ---------------------------------------------------------------------------

    def _read_checkpoint(self) -> SpoolPosition:
        try:
            segment, offset = (self.directory / _CHECKPOINT).read_text().split()
        except FileNotFoundError:
            return SpoolPosition(0, 0)
        return SpoolPosition(int(segment), int(offset))

    def _valid_length(self, number: int) -> int:
        """The length of the segment's whole, intact records (a torn tail is not counted)."""
        path = self.directory / _segment_name(number)
        if not path.exists():
            return 0
        data = path.read_bytes()
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            end = offset + _HEADER.size + length
            if end > len(data) or zlib.crc32(data[offset + _HEADER.size : end]) != crc:
                break
            offset = end
        return offset


def _open_segment(path: Path) -> BinaryIO:
    return path.open("ab", buffering=0)


def _write_all(file: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` to an unbuffered file (a single write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[file.write(view) or 0 :]


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
