"""The stack outputs: the schema module's ``StackOutputs``, one stack output per top-level field.

Everything in it is derived by ``schema.contract.build_contract`` from the tables and the bus; the
topics and the endpoint come from the resources, so the outputs cannot drift from what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from infra.bus import Bus
from infra.config import StackConfig
from schema.contract import BusContract, StackOutputs, build_contract


def contract(
    config: StackConfig,
    bus: Bus,
    catalog: str | None,
    endpoint: pulumi.Output[str] | None,
) -> pulumi.Output[dict[str, Any]]:
    """The contract as JSON data, resolved from the resources' outputs."""

    def build(values: dict[str, Any]) -> dict[str, Any]:
        outputs = build_contract(
            config.provider,
            config.namespace,
            bus=BusContract(
                driver=config.bus_driver,
                topic=values["topic"],
                dead_letter_topic=values["dead_letter_topic"],
                brokers=config.brokers if config.bus_driver == "kafka" else [],
                project=config.pubsub_project_id if config.bus_driver == "pubsub" else None,
                subscription=values["subscription"],
            ),
            catalog=catalog,
            ingest_endpoint=values["endpoint"],
        )
        return outputs.model_dump(mode="json")

    return pulumi.Output.all(
        topic=bus.topic,
        dead_letter_topic=bus.dead_letter_topic,
        subscription=bus.subscription,
        endpoint=endpoint,
    ).apply(build)


def export(values: pulumi.Output[dict[str, Any]]) -> None:
    """Export each top-level field of the contract as its own stack output."""
    for key in StackOutputs.model_fields:
        pulumi.export(key, values.apply(_field(key)))


def _field(key: str) -> Callable[[dict[str, Any]], Any]:
    def read(data: dict[str, Any]) -> Any:
        return data[key]

    return read
