"""Bus drivers: where events come from (and where ``POST /v1/events`` puts them).

One interface (``base.Bus``), one module per driver, chosen by ``EVENT_BUS_DRIVER`` and imported
lazily so the memory driver never loads confluent-kafka or google-cloud-pubsub.
"""

from __future__ import annotations

from importlib import import_module

from ingest.bus.base import Bus, BusFull, Polled
from ingest.config import ConfigError, Settings

_DRIVERS: dict[str, str] = {
    "memory": "ingest.bus.memory:MemoryBus",
    "kafka": "ingest.bus.kafka:KafkaBus",
    "pubsub": "ingest.bus.pubsub:PubSubBus",
}


def open_bus(settings: Settings) -> Bus:
    """The bus of ``EVENT_BUS_DRIVER``; ConfigError for a driver this version does not ship."""
    target = _DRIVERS.get(settings.bus_driver)
    if target is None:
        raise ConfigError(
            f"EVENT_BUS_DRIVER={settings.bus_driver}: not available in this version of the service "
            f"(available: {', '.join(_DRIVERS)})"
        )
    module, _, name = target.partition(":")
    cls: type[Bus] = getattr(import_module(module), name)
    return cls(settings)


__all__ = ["Bus", "BusFull", "Polled", "open_bus"]
