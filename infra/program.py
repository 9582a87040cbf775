"""The Pulumi program (``main`` in Pulumi.yaml): composes the bus, the warehouse with its tables,
the ingest deployment, and exports the contract.

Before declaring anything it checks the schema module against the committed lock: a breaking
change fails the preview with the evolution report, so no schema change can reach a table as a
replacement. ``python -m infra render`` runs ``compose`` under the mock runtime instead.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.bus import Bus
from infra.config import Secrets, StackConfig, load_config, load_secrets
from infra.outputs import contract, export
from infra.warehouse import Warehouse
from schema.evolution import diff_against_lock


def compose(config: StackConfig, secrets: Secrets) -> pulumi.Output[dict[str, Any]]:
    """Declare every resource of the stack and export its outputs; returns the exported contract."""
    diff_against_lock().raise_if_breaking()
    identity = None
    if config.deployed:
        from infra.deployment import IngestIdentity

        identity = IngestIdentity("ingest-identity", config)
    writer = identity.member if identity is not None else None
    bus = Bus("bus", config, subscriber=writer)
    warehouse = Warehouse("warehouse", config, secrets, writer=writer)
    endpoint = None
    if identity is not None:
        from infra.deployment import IngestDeployment

        deployment = IngestDeployment(
            "ingest", config, secrets, identity, bus, tables=list(warehouse.parts.tables.values())
        )
        endpoint = deployment.endpoint
    values = contract(config, bus, warehouse.parts.catalog, endpoint)
    export(values)
    return values


def main() -> None:
    compose(load_config(), load_secrets())


if __name__ == "__main__":
    main()
