"""Postgres: the schema, an ingest-writer role (INSERT/SELECT on the four tables, nothing more), an
analyst read-only role with default privileges on future tables, and the tables (dynamic provider).

The writer also gets CONNECT and TEMPORARY on the database: the sink loads a batch by COPY into a
temporary table, then INSERT ... ON CONFLICT DO NOTHING into the table (the fastest exactly-once
path measured here, docs/ingest.md). Roles are NOLOGIN groups: logins are people's and services' business;
``postgresIngestLogin`` makes an existing login a member of the writer role. pulumi-postgresql
runs on an explicit provider built from the provisioning URL (a secret), so the tables and the
grants use one server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pulumi
import pulumi_postgresql as postgresql

from infra.tables import Target
from infra.tables import postgres as tables
from infra.warehouses import Parts, PostgresArgs, Scope
from schema.tables import TABLES

# Per role and object type: all either role ever gets.
PRIVILEGES: dict[str, dict[str, list[str]]] = {
    "writer": {"database": ["CONNECT", "TEMPORARY"], "schema": ["USAGE"], "table": ["INSERT", "SELECT"]},
    "analyst": {"database": ["CONNECT"], "schema": ["USAGE"], "table": ["SELECT"]},
}


def connection_settings(url: str) -> dict[str, Any]:
    """pulumi-postgresql provider settings from a libpq URL (sslmode only when the URL says)."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname,
        "port": parts.port,
        "database": parts.path.lstrip("/") or None,
        "username": parts.username,
        "password": parts.password,
        "sslmode": parse_qs(parts.query).get("sslmode", [None])[0],
    }


def role_names(namespace: str) -> dict[str, str]:
    return {"writer": f"{namespace}_ingest_writer", "analyst": f"{namespace}_analyst"}


def build(args: PostgresArgs, scope: Scope) -> Parts:
    namespace = args.namespace
    admin_url = args.admin_url
    settings = admin_url.apply(connection_settings)

    def setting(key: str) -> pulumi.Output[Any]:
        return settings.apply(lambda values: values[key])

    provider = postgresql.Provider(
        "warehouse",
        host=setting("host"),
        port=setting("port"),
        database=setting("database"),
        username=setting("username"),
        password=setting("password"),
        sslmode=setting("sslmode"),
        superuser=False,
        opts=scope.child(),
    )
    database = setting("database")
    on_server = scope.child(provider=provider)
    schema = postgresql.Schema(
        "namespace",
        name=namespace,
        database=database,
        if_not_exists=True,
        drop_cascade=False,
        opts=pulumi.ResourceOptions.merge(on_server, pulumi.ResourceOptions(protect=args.protect)),
    )
    names = role_names(namespace)
    roles = {
        kind: postgresql.Role(f"{kind}-role", name=name, login=False, opts=on_server)
        for kind, name in names.items()
    }
    target = Target(
        catalog=None, namespace=namespace, protected=args.protect, after=(schema,), connection=admin_url
    )
    declared = {spec.name: tables.declare(spec, target, scope.child()) for spec in TABLES}
    table_names = sorted(declared)
    after_tables = pulumi.ResourceOptions.merge(
        on_server, pulumi.ResourceOptions(depends_on=list(declared.values()))
    )
    grants: list[pulumi.Resource] = []
    for kind, role in roles.items():
        privileges = PRIVILEGES[kind]
        # (resource name suffix, object type, the grant's own arguments, options).
        plan: list[tuple[str, str, dict[str, Any], pulumi.ResourceOptions]] = [
            ("database", "database", {}, on_server),
            ("schema", "schema", {"schema": schema.name}, on_server),
            ("tables", "table", {"schema": schema.name, "objects": table_names}, after_tables),
        ]
        for suffix, object_type, arguments, options in plan:
            grant = postgresql.Grant(
                f"{kind}-{suffix}",
                role=role.name,
                database=database,
                object_type=object_type,
                privileges=privileges[object_type],
                opts=options,
                **arguments,
            )
            if kind == "writer":
                grants.append(grant)
    postgresql.DefaultPrivileges(
        "analyst-future-tables",
        role=roles["analyst"].name,
        database=database,
        schema=schema.name,
        owner=setting("username"),
        object_type="table",
        privileges=PRIVILEGES["analyst"]["table"],
        opts=on_server,
    )
    if args.ingest_login:
        grants.append(
            postgresql.GrantRole(
                "ingest-login-writer", role=args.ingest_login, grant_role=roles["writer"].name, opts=on_server
            )
        )
    return Parts(tables=declared, catalog=None, grants=grants)
