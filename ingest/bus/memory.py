"""The in-process bus (the default), backed by a local spool so that a 202 means durable.

``publish`` appends the request's items to the spool and fsyncs before the 202 (``ingest.spool``);
the pump reads them back in order and commits how far the warehouse has taken them. A restart,
clean or not, first delivers what the spool still holds. When the spool cannot take the items
(full, disk error) the request gets 503 and nothing is acknowledged.

The spool is a local directory: it is as durable as that disk. On a host whose disk does not
outlive the instance (Cloud Run), use the kafka or pubsub driver.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from ingest.bus.base import Bus, BusFull, BusProblem, Polled
from ingest.config import ConfigError, Settings
from ingest.messages import Message
from ingest.spool import Spool, SpoolBusy, SpoolFull

ORIGIN = "http"


class MemoryBus(Bus):
    durable = True
    name = "memory"
    # Rejected HTTP items go through the spool too: their dead letters are as durable as the 202.
    takes_invalid_input: ClassVar[bool] = True
    drain_on_stop: ClassVar[bool] = True

    def __init__(self, settings: Settings) -> None:
        if settings.spool_dir is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)  # the service's own data directory
        try:
            self.spool = Spool(settings.spool_path, settings.spool_max_bytes)
        except SpoolBusy as error:
            raise ConfigError(f"INGEST_SPOOL_DIR: {error}") from None
        except OSError as error:
            raise ConfigError(
                f"INGEST_SPOOL_DIR={settings.spool_path}: cannot use it: {error.strerror}"
            ) from None
        self._running = threading.Event()
        self._running.set()

    async def publish(self, messages: Sequence[Message]) -> None:
        try:
            await asyncio.to_thread(self.spool.append, [message.raw for message in messages])
        except SpoolFull as error:
            raise BusFull(str(error)) from None

    def poll(self, max_messages: int, timeout: float) -> Polled:
        if not self._running.is_set():
            self._running.wait(timeout)  # paused: deliver nothing, but pace the caller's loop
            return Polled()
        records, position = self.spool.read(max_messages, timeout)
        return Polled([Message(record, ORIGIN) for record in records], position)

    def commit(self, positions: Sequence[Any], wait: bool = False) -> None:
        """The warehouse has everything up to the last position: the spool may forget it."""
        if positions:
            self.spool.commit(max(positions))

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def depth(self) -> int:
        """Bytes accepted and not yet committed to the warehouse."""
        return self.spool.unacknowledged_bytes

    def ping(self) -> None:
        """Always reachable: it is this process (the spool's disk answers in ``publish``), unless
        the spool broke on a failed fsync: then only a restart makes it take events again."""
        if self.spool.broken is not None:
            raise BusProblem(self.spool.broken)

    def close(self) -> None:
        self.spool.close()
