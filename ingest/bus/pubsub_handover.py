"""The hand-over between the Pub/Sub library's callback thread and the pump, and its positions.

The library calls back on its own thread; ``PubSubBus`` only enqueues there, and ``poll`` takes
from the queue on the pump thread. What a poll took is one ``Held`` (its position): acknowledged
together once its batch is committed, nacked on close if it never was. Kept apart from the bus so
the bookkeeping of what this process holds and has not committed reads in one place.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

HANDOVER_PUT_WAIT_S = 0.5


@dataclass(eq=False)
class Held:
    """The library messages of one poll: acked together once their batch is committed."""

    messages: list[Any] = field(default_factory=list)


class Handover:
    """A bounded queue of library messages, and the polls taken from it and not yet committed."""

    def __init__(self, maxsize: int, closing: threading.Event) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._closing = closing
        self._uncommitted: set[Held] = set()
        self._lock = threading.Lock()

    def put(self, message: Any) -> bool:
        """Enqueue ``message`` (the callback thread); False if the bus closed first."""
        while not self._closing.is_set():
            try:
                self._queue.put(message, timeout=HANDOVER_PUT_WAIT_S)
                return True
            except queue.Full:
                continue  # only after the library dropped leases it held too long: wait for room
        return False

    def take(self, max_messages: int, timeout: float) -> Held | None:
        """Up to ``max_messages``, waiting ``timeout`` for the first; None if none came."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        held = Held([first])
        while len(held.messages) < max_messages:
            try:
                held.messages.append(self._queue.get_nowait())
            except queue.Empty:
                break
        with self._lock:
            self._uncommitted.add(held)
        return held

    def settle(self, positions: Sequence[Any]) -> None:
        """Forget the polls of ``positions``: they are acknowledged."""
        with self._lock:
            self._uncommitted.difference_update(positions)

    def release(self) -> list[Any]:
        """Every message taken and not committed, then every one still queued (on close)."""
        with self._lock:
            pending = [message for held in self._uncommitted for message in held.messages]
            self._uncommitted.clear()
        pending.extend(_drain(self._queue))
        return pending


def _drain(handover: queue.Queue[Any]) -> Iterable[Any]:
    while True:
        try:
            yield handover.get_nowait()
        except queue.Empty:
            return
