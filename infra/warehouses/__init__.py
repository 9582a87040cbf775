"""The warehouse container per warehouse: namespace, roles and grants, and the tables in it.

One module per warehouse with the same ``build(context) -> Parts`` function; ``infra.warehouse``
imports only the one a stack uses, so its provider SDK is the only one loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.config import Secrets, StackConfig


@dataclass(frozen=True)
class Context:
    """What every container needs: the config, the secrets, the component to parent children to,
    and the ingest service's identity (an IAM member) when it is deployed."""

    config: StackConfig
    secrets: Secrets
    parent: pulumi.Resource
    writer: pulumi.Output[str] | None

    def child(
        self,
        *,
        provider: pulumi.ProviderResource | None = None,
        depends_on: list[pulumi.Resource] | None = None,
        protect: bool | None = None,
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self.parent, provider=provider, depends_on=depends_on, protect=protect
        )


@dataclass(frozen=True)
class Parts:
    """What the rest of the program wires from: the tables (by name) and the catalog of their
    fully qualified names (project or database; ``None`` where it is not a public fact)."""

    tables: dict[str, pulumi.CustomResource]
    catalog: str | None


def deletion_policy(protected: bool) -> str:
    """The GCP provider's own guard, in step with ``protect``."""
    return "PREVENT" if protected else "DELETE"
