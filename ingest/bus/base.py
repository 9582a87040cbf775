"""The interface every bus driver implements, and what crosses it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ingest.config import Settings
from ingest.messages import Message, Polled


class BusProblem(RuntimeError):
    """A problem of the bus an operator can act on, said with configuration names only (a topic,
    a subscription; never a host or a credential): ``/readyz`` shows its message. Any other
    error from ``ping`` is shown by its type alone."""


class BusFull(Exception):
    """The bus cannot take more input now; HTTP answers 503 and the client retries."""


class Bus(ABC):
    """A source of messages with at-least-once delivery.

    ``commit`` acknowledges positions returned by ``poll`` whose messages are in the warehouse;
    a driver never acknowledges anything earlier, so a crash means redelivery, not loss.
    """

    name: ClassVar[str]

    @abstractmethod
    def __init__(self, settings: Settings) -> None: ...

    # Whether the bus keeps messages across a restart (every shipped driver does: a 202 or an ack
    # is a promise, so shutdown never needs to drain the bus).
    durable: ClassVar[bool]
    # Whether POST /v1/events puts the items it rejects on this bus too (the consumer dead-letters
    # them): only a bus of the service's own, since other readers of a shared topic expect events.
    takes_invalid_input: ClassVar[bool] = False
    # Whether a stopping service reads this bus to its end first (within the shutdown deadline):
    # for the service's own spool, so that a clean stop leaves it empty; never for a shared topic.
    drain_on_stop: ClassVar[bool] = False

    @abstractmethod
    async def publish(self, messages: Sequence[Message]) -> None:
        """Put validated messages on the bus; return once the bus has them durably as far as
        this driver can (Kafka: acks=all). Raise BusFull to shed load."""

    @abstractmethod
    def poll(self, max_messages: int, timeout: float) -> Polled:
        """Up to ``max_messages`` messages, waiting at most ``timeout`` seconds; none while paused."""

    @abstractmethod
    def commit(self, positions: Sequence[Any], wait: bool = False) -> None:
        """Acknowledge ``positions`` (oldest first); ``wait`` for the bus to confirm."""

    @abstractmethod
    def pause(self) -> None:
        """Stop delivering messages (backpressure) while staying a healthy consumer."""

    @abstractmethod
    def resume(self) -> None: ...

    def on_revoke(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` before partitions are taken away, to flush and commit what is in flight.
        Drivers without rebalances ignore it."""
        del hook

    @abstractmethod
    def ping(self) -> None:
        """Raise if the bus cannot be reached now (readiness)."""

    @abstractmethod
    def close(self) -> None: ...


__all__ = ["Bus", "BusFull", "BusProblem", "Message", "Polled"]
