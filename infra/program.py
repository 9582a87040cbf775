"""The Pulumi program (``main`` in Pulumi.yaml): composes the bus, the warehouse with its tables,
the ingest deployment, and exports the contract.

Before declaring anything it checks the schema module against the committed lock: a breaking
change fails the preview with the evolution report, so no schema change can reach a table as a
replacement. ``python -m infra render`` runs ``compose`` under the mock runtime instead.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra import args
from infra.bus import Bus
from infra.config import Secrets, StackConfig
from infra.outputs import contract, export
from infra.reading import check_secrets, load_config, load_secrets
from infra.warehouse import Warehouse
from schema.evolution import diff_against_lock


def compose(config: StackConfig, secrets: Secrets) -> pulumi.Output[dict[str, Any]]:
    """Declare every resource of the stack and export its outputs; returns the exported contract."""
    diff_against_lock().raise_if_breaking()
    check_secrets(config, secrets)
    stack = pulumi.get_stack()
    identity = None
    if config.deployed:
        from infra.deployment import IngestIdentity

        identity = IngestIdentity("ingest-identity", args.identity_args(config, stack))
    member = identity.member if identity is not None else None
    bus = Bus("bus", args.bus_args(config, secrets, member))
    warehouse = Warehouse("warehouse", args.warehouse_args(config, secrets), writer=member)
    endpoint = None
    if identity is not None:
        from infra.deployment import IngestDeployment
        from infra.image import IngestImage

        parts = warehouse.parts
        after = (*parts.tables.values(), *parts.grants, *bus.grants)
        build = args.image_args(config, stack)
        image = IngestImage("ingest-image", build).ref if build is not None else None
        deployment = IngestDeployment(
            "ingest", args.deployment_args(config, secrets, stack, bus, after, image), identity
        )
        endpoint = deployment.endpoint
    values = contract(config, bus, warehouse.parts.catalog, endpoint)
    export(values)
    return values


def main() -> None:
    compose(load_config(), load_secrets())


if __name__ == "__main__":
    main()
