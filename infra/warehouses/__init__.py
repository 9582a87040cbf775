"""The warehouse container per warehouse: namespace, roles and grants, and the tables in it.

One module per warehouse with the same ``build(args, scope) -> Parts`` function, each taking its
own narrow args; ``infra.warehouse`` imports only the one a stack uses, so its provider SDK is the
only one loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pulumi


@dataclass(frozen=True)
class PostgresArgs:
    """``admin_url``: the provisioning connection (a secret); ``ingest_login``: an existing login
    made a member of the writer role ("" for none)."""

    provider: ClassVar[str] = "postgres"
    namespace: str
    protect: bool
    admin_url: pulumi.Output[str]
    ingest_login: str


@dataclass(frozen=True)
class BigQueryArgs:
    provider: ClassVar[str] = "bigquery"
    project: str
    namespace: str
    location: str
    protect: bool


@dataclass(frozen=True)
class SnowflakeArgs:
    """``security_role``: the role that creates roles and grants (the provisioning role, SYSADMIN,
    cannot create roles or future grants); ``ingest_user`` / ``ingest_warehouse``: the service's
    user and the warehouse it runs on ("" when nothing is deployed)."""

    provider: ClassVar[str] = "snowflake"
    database: str
    namespace: str
    stage: str
    file_format: str
    protect: bool
    security_role: str
    ingest_user: str
    ingest_warehouse: str


WarehouseArgs = PostgresArgs | BigQueryArgs | SnowflakeArgs


@dataclass(frozen=True)
class Scope:
    """Where a container's resources go: the component to parent them to, and the ingest
    service's identity (an IAM member) when it is deployed."""

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
    """What the rest of the program wires from: the tables (by name), the catalog of their fully
    qualified names (project or database; ``None`` where it is not a public fact), and the grants
    the ingest service needs before its first revision starts."""

    tables: dict[str, pulumi.CustomResource]
    catalog: str | None
    grants: list[pulumi.Resource] = field(default_factory=list)


def deletion_policy(protected: bool) -> str:
    """The GCP provider's own guard, in step with ``protect``."""
    return "PREVENT" if protected else "DELETE"
