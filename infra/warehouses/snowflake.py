"""Snowflake: explicit providers, the schema, the internal stage and JSON file format, an
ingest-writer and an analyst role with their grants, and the tables with their pipes.

Two providers, one per Snowflake role, from the same ``snowflake:`` connection settings (explicit
providers do not read the stack config themselves, so they are forwarded; the key as a secret):

- ``warehouse`` runs as ``snowflake:role`` (SYSADMIN), which owns the schema, stage, file format,
  tables and pipes;
- ``security`` runs as ``snowflakeSecurityRole`` (SECURITYADMIN): SYSADMIN cannot create roles
  (USERADMIN can, and SECURITYADMIN inherits it) nor define future grants (MANAGE GRANTS, which
  SECURITYADMIN holds). The provisioning user must be granted both roles.

The writer role holds exactly what the ingest writer does: USAGE on the database, the schema and
its warehouse; CREATE TABLE on the schema (each batch is COPYed into a TEMPORARY landing table,
which needs it); READ and WRITE on the stage (PUT, COPY, REMOVE); USAGE on the file format (the
COPY names it); INSERT and SELECT on the tables (an insert-only MERGE on ``event_id`` reads the
target and inserts; no UPDATE). It is granted to the service's user. Future-table grants exist
before the tables, and all-table grants wait for the tables, so no table is ever without them.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_snowflake as snowflake
from pydantic.alias_generators import to_snake

from infra.config import SNOWFLAKE_PROVIDER_KEYS, SNOWFLAKE_PROVIDER_SECRET_KEYS
from infra.tables import Target
from infra.tables import snowflake as tables
from infra.warehouses import Parts, Scope, SnowflakeArgs
from schema.dialects.snowflake import name as sf_name
from schema.tables import TABLES

PREVIEW_FEATURES = ["snowflake_pipe_resource", "snowflake_table_resource"]
# Per role: the privileges on each kind of object of the schema.
TABLE_PRIVILEGES = {"writer": ["INSERT", "SELECT"], "analyst": ["SELECT"]}
SCHEMA_PRIVILEGES = {"writer": ["USAGE", "CREATE TABLE"], "analyst": ["USAGE"]}
STAGE_PRIVILEGES = ["READ", "WRITE"]
ROLE_SUFFIX = {"writer": "ingest_writer", "analyst": "analyst"}


def provider(name: str, scope: Scope, role: str | None = None) -> snowflake.Provider:
    """A provider on the stack's ``snowflake:`` connection settings, as ``role`` if given."""
    settings = pulumi.Config("snowflake")
    plain: dict[str, Any] = {
        to_snake(key): settings.get(key) for key in SNOWFLAKE_PROVIDER_KEYS if settings.get(key)
    }
    if role is not None:
        plain["role"] = role
    secret: dict[str, Any] = {
        to_snake(key): settings.get_secret(key)
        for key in SNOWFLAKE_PROVIDER_SECRET_KEYS
        if pulumi.runtime.get_config(f"snowflake:{key}")
    }
    return snowflake.Provider(
        name, preview_features_enabled=PREVIEW_FEATURES, **plain, **secret, opts=scope.child()
    )


def build(args: SnowflakeArgs, scope: Scope) -> Parts:
    database = args.database
    namespace = sf_name(args.namespace)
    on_account = scope.child(provider=provider("warehouse", scope))
    as_security = scope.child(provider=provider("security", scope, args.security_role))
    schema = snowflake.Schema(
        "namespace",
        database=database,
        name=namespace,
        comment="Analytics events of the API.",
        opts=pulumi.ResourceOptions.merge(on_account, pulumi.ResourceOptions(protect=args.protect)),
    )
    in_schema = pulumi.ResourceOptions.merge(on_account, pulumi.ResourceOptions(depends_on=[schema]))
    file_format = snowflake.FileFormatJson(
        "file-format",
        database=database,
        schema=namespace,
        name=sf_name(args.file_format),
        compression="AUTO",
        comment="Newline-delimited JSON rows, one object per row keyed by column name.",
        opts=in_schema,
    )
    stage = snowflake.StageInternal(
        "stage",
        database=database,
        schema=namespace,
        name=sf_name(args.stage),
        comment="Files the ingest service lands, one folder per table.",
        opts=in_schema,
    )
    grants = Grants(args, as_security, schema)
    target = Target(
        catalog=database,
        namespace=args.namespace,
        protected=args.protect,
        after=(schema, stage, file_format, *grants.future_tables),
        stage=args.stage,
        file_format=args.file_format,
    )
    declared = {spec.name: tables.declare(spec, target, on_account) for spec in TABLES}
    grants.on_objects(stage, file_format, list(declared.values()))
    return Parts(tables=declared, catalog=database, grants=grants.writer)


def _qualified(*parts: str) -> str:
    """A fully qualified name as the provider's grant resources take it (``DB.SCHEMA.OBJECT``)."""
    return ".".join(parts)


class Grants:
    """The two roles and their grants, declared on the security provider in dependency order."""

    def __init__(self, args: SnowflakeArgs, opts: pulumi.ResourceOptions, schema: snowflake.Schema) -> None:
        self.args, self.opts = args, opts
        self.schema_name = _qualified(args.database, sf_name(args.namespace))
        self.roles = {
            kind: snowflake.AccountRole(
                f"{kind}-role",
                name=sf_name(f"{args.namespace}_{suffix}"),
                comment=f"{kind} of {args.database}.{sf_name(args.namespace)}",
                opts=opts,
            )
            for kind, suffix in ROLE_SUFFIX.items()
        }
        # What the ingest service needs before it starts (its first revision waits for these).
        self.writer: list[pulumi.Resource] = []
        self.future_tables: list[pulumi.Resource] = []
        for kind in self.roles:
            on_database = snowflake.GrantPrivilegesToAccountRoleOnAccountObjectArgs(
                object_type="DATABASE", object_name=_qualified(args.database)
            )
            self._grant(kind, "database", ["USAGE"], [], on_account_object=on_database)
            on_schema = snowflake.GrantPrivilegesToAccountRoleOnSchemaArgs(schema_name=self.schema_name)
            self._grant(kind, "schema", SCHEMA_PRIVILEGES[kind], [schema], on_schema=on_schema)
            future = snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectFutureArgs(
                object_type_plural="TABLES", in_schema=self.schema_name
            )
            self.future_tables.append(
                self._grant(
                    kind,
                    "future-tables",
                    TABLE_PRIVILEGES[kind],
                    [schema],
                    on_schema_object=snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectArgs(future=future),
                )
            )
        if args.ingest_warehouse:
            on_warehouse = snowflake.GrantPrivilegesToAccountRoleOnAccountObjectArgs(
                object_type="WAREHOUSE", object_name=_qualified(args.ingest_warehouse)
            )
            self._grant("writer", "warehouse", ["USAGE"], [], on_account_object=on_warehouse)
        if args.ingest_user:
            self.writer.append(
                snowflake.GrantAccountRole(
                    "writer-to-ingest-user",
                    role_name=self.roles["writer"].name,
                    user_name=_qualified(args.ingest_user),
                    opts=opts,
                )
            )

    def _grant(
        self, kind: str, suffix: str, privileges: list[str], after: list[pulumi.Resource], **on: Any
    ) -> snowflake.GrantPrivilegesToAccountRole:
        grant = snowflake.GrantPrivilegesToAccountRole(
            f"{kind}-{suffix}",
            account_role_name=self.roles[kind].name,
            privileges=privileges,
            opts=pulumi.ResourceOptions.merge(self.opts, pulumi.ResourceOptions(depends_on=after)),
            **on,
        )
        if kind == "writer":
            self.writer.append(grant)
        return grant

    def on_objects(
        self,
        stage: snowflake.StageInternal,
        file_format: snowflake.FileFormatJson,
        declared: list[pulumi.Resource],
    ) -> None:
        """Grants on objects that must exist first: the stage, the file format, the tables."""
        database, namespace = self.args.database, sf_name(self.args.namespace)

        def schema_object(
            object_type: str, name: str
        ) -> snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectArgs:
            return snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectArgs(
                object_type=object_type, object_name=_qualified(database, namespace, sf_name(name))
            )

        self._grant(
            "writer",
            "stage",
            STAGE_PRIVILEGES,
            [stage],
            on_schema_object=schema_object("STAGE", self.args.stage),
        )
        self._grant(
            "writer",
            "file-format",
            ["USAGE"],
            [file_format],
            on_schema_object=schema_object("FILE FORMAT", self.args.file_format),
        )
        for kind in self.roles:
            every = snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectAllArgs(
                object_type_plural="TABLES", in_schema=self.schema_name
            )
            self._grant(
                kind,
                "all-tables",
                TABLE_PRIVILEGES[kind],
                declared,
                on_schema_object=snowflake.GrantPrivilegesToAccountRoleOnSchemaObjectArgs(all=every),
            )
