"""The in-process bus (the default): a bounded queue between HTTP and the sink.

Nothing survives the process: a 202 from the memory bus means "in this process, drained on
SIGTERM". Use the kafka driver for input that must survive a crash.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from ingest.bus.base import Bus, BusFull, Polled
from ingest.config import Settings
from ingest.messages import Message


class MemoryBus(Bus):
    durable = False
    name = "memory"

    def __init__(self, settings: Settings) -> None:
        self.capacity_bytes = settings.max_buffer_bytes
        self._queue: deque[Message] = deque()
        self._bytes = 0
        self._paused = False
        self._ready = threading.Condition()

    async def publish(self, messages: Sequence[Message]) -> None:
        size = sum(len(message.raw) for message in messages)
        with self._ready:
            if self._bytes and self._bytes + size > self.capacity_bytes:
                raise BusFull(f"the in-process queue holds {self._bytes} bytes (limit {self.capacity_bytes})")
            self._queue.extend(messages)
            self._bytes += size
            self._ready.notify()

    def poll(self, max_messages: int, timeout: float) -> Polled:
        with self._ready:
            if self._paused or not self._queue:
                self._ready.wait(timeout)
            if self._paused:
                return Polled()
            taken = [self._queue.popleft() for _ in range(min(max_messages, len(self._queue)))]
            self._bytes -= sum(len(message.raw) for message in taken)
        return Polled(taken)

    def commit(self, positions: Sequence[Any], wait: bool = False) -> None:
        """Nothing to acknowledge: the queue forgets a message once it is polled."""

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        with self._ready:
            self._paused = False
            self._ready.notify()

    @property
    def depth(self) -> int:
        return len(self._queue)

    def ping(self) -> None:
        """Always reachable: it is this process."""

    def close(self) -> None:
        with self._ready:
            self._ready.notify_all()
