"""The warehouse component: the container and the tables of the configured warehouse.

Only the module of the stack's warehouse is imported (``infra.warehouses.<provider>``), and with
it only that warehouse's provider SDK.
"""

from __future__ import annotations

import importlib

import pulumi

from infra.config import Secrets, StackConfig
from infra.warehouses import Context, Parts


class Warehouse(pulumi.ComponentResource):
    """Namespace, roles and grants, stage and file format where needed, and the four tables."""

    parts: Parts

    def __init__(
        self,
        name: str,
        config: StackConfig,
        secrets: Secrets,
        writer: pulumi.Output[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"analytics:warehouse:{config.provider.capitalize()}", name, None, opts)
        module = importlib.import_module(f"infra.warehouses.{config.provider}")
        self.parts = module.build(Context(config=config, secrets=secrets, parent=self, writer=writer))
        self.register_outputs({"tables": sorted(self.parts.tables)})
