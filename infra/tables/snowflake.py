"""Snowflake tables: ``Table`` with the schema module's columns and cluster keys, and one ``Pipe``
per table copying the table's folder of the internal stage into it.

Both are preview features of the provider, enabled on the explicit provider the container makes.
A pipe fails to create before its table exists, so it depends on the table (and on the stage and
file format its COPY names) explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_snowflake as snowflake

from schema.dialects import SNOWFLAKE as dialect
from schema.tables import TableSpec


@dataclass(frozen=True)
class Target:
    """The schema, stage and file format the tables and pipes use, and whether data is protected."""

    database: str
    namespace: str
    stage: str
    file_format: str
    protected: bool
    depends_on: tuple[pulumi.Resource, ...]


def table_args(spec: TableSpec) -> dict[str, Any]:
    """The inputs the schema module decides (name, columns, cluster keys, key, comment)."""
    return {
        "name": dialect.name(spec.name),
        "comment": spec.description,
        "columns": [snowflake.TableColumnArgs(**column) for column in dialect.column_specs(spec)],
        "cluster_bies": dialect.cluster_keys(spec),
        "primary_key": snowflake.TablePrimaryKeyArgs(keys=[dialect.name(key) for key in spec.primary_key]),
    }


def pipe_name(spec: TableSpec) -> str:
    return dialect.name(f"{spec.name}_pipe")


def declare(spec: TableSpec, target: Target, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    table = snowflake.Table(
        spec.name,
        database=target.database,
        schema=dialect.name(target.namespace),
        **table_args(spec),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(protect=target.protected, depends_on=list(target.depends_on))
        ),
    )
    snowflake.Pipe(
        f"{spec.name}-pipe",
        database=target.database,
        schema=dialect.name(target.namespace),
        name=pipe_name(spec),
        comment=f"Loads staged files of {spec.name}.",
        copy_statement=dialect.copy_into(
            spec, target.namespace, target.stage, target.file_format, target.database
        ),
        auto_ingest=False,
        # An additive column changes the COPY, and the provider replaces a pipe whose COPY
        # changes: the pipe keeps its name, so the old one must go first. Its load history goes
        # with it; files still in the stage may then load twice (Snowflake does not enforce the
        # primary key), which is why the stage is for files not yet loaded only.
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[table, *target.depends_on], delete_before_replace=True)
        ),
    )
    return table
