"""How the four tables are declared in each warehouse: one module per warehouse, the same shape.

Each module exposes ``declare(spec, target, opts)``, which declares one ``schema.TableSpec`` in
the one ``Target`` type below. The modules never import each other, and each imports its provider
SDK itself, so a stack only loads the SDK of the warehouse it uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class Target:
    """Where a warehouse's tables go, the same shape for every warehouse.

    ``catalog``: the GCP project or Snowflake database (``None`` on Postgres, where the connection
    names the database); ``namespace``: the schema or dataset, as the schema module names it;
    ``after``: the container's pieces the tables need first (namespace, stage, future grants);
    ``connection``: Postgres's provisioning URL (a secret); ``stage`` / ``file_format``: what
    Snowflake's pipes copy from.
    """

    catalog: str | None
    namespace: str
    protected: bool
    after: tuple[pulumi.Resource, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    connection: pulumi.Input[str] | None = None
    stage: str | None = None
    file_format: str | None = None

    def options(self, opts: pulumi.ResourceOptions, *after: pulumi.Resource) -> pulumi.ResourceOptions:
        """``opts`` plus ``protect`` and the dependencies on the container (and ``after``)."""
        return pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(protect=self.protected, depends_on=[*self.after, *after])
        )
