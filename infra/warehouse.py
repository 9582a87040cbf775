"""The warehouse component: the container and the tables of the configured warehouse.

Only the module of the stack's warehouse is imported (``infra.warehouses.<provider>``), and with
it only that warehouse's provider SDK.
"""

from __future__ import annotations

import importlib

import pulumi

from infra.warehouses import Parts, Scope, WarehouseArgs


class Warehouse(pulumi.ComponentResource):
    """Namespace, roles and grants, stage and file format where needed, and the four tables."""

    parts: Parts

    def __init__(
        self,
        name: str,
        args: WarehouseArgs,
        writer: pulumi.Output[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"analytics:warehouse:{args.provider.capitalize()}", name, None, opts)
        module = importlib.import_module(f"infra.warehouses.{args.provider}")
        self.parts = module.build(args, Scope(parent=self, writer=writer))
        self.register_outputs({"tables": sorted(self.parts.tables)})
