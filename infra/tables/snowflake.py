"""Snowflake tables: ``Table`` with the schema module's columns and cluster keys, and one ``Pipe``
per table copying the table's folder of the internal stage into it.

Both are preview features of the provider, enabled on the explicit provider the container makes.
A pipe fails to create before its table exists, so it depends on the table (and on the stage and
file format its COPY names) explicitly.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_snowflake as snowflake

from infra.tables import Target
from schema.dialects import SNOWFLAKE as dialect
from schema.tables import TableSpec


def cluster_keys(spec: TableSpec) -> list[str]:
    """The schema module's CLUSTER BY expressions without identifier quotes.

    Snowflake stores and returns a clustering key unquoted (``LINEAR(TO_DATE(OCCURRED_AT), ...)``),
    so a quoted expression would differ from what the provider reads back on every preview. The
    names are validated upper-case identifiers, for which quoted and unquoted are the same name.
    """
    return [key.replace('"', "") for key in dialect.cluster_keys(spec)]


def table_args(spec: TableSpec) -> dict[str, Any]:
    """The inputs the schema module decides (name, columns, cluster keys, comment).

    No ``primary_key``: the provider deprecates it (a warning on every run, and the key may not be
    attached), and Snowflake would not enforce it anyway; exactly-once comes from the writer's
    MERGE on the dedup key, which the stack outputs publish.
    """
    return {
        "name": dialect.name(spec.name),
        "comment": spec.description,
        "columns": [snowflake.TableColumnArgs(**column) for column in dialect.column_specs(spec)],
        "cluster_bies": cluster_keys(spec),
    }


def pipe_name(spec: TableSpec) -> str:
    return dialect.name(f"{spec.name}_pipe")


def declare(spec: TableSpec, target: Target, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    table = snowflake.Table(
        spec.name,
        database=target.catalog,
        schema=dialect.name(target.namespace),
        **table_args(spec),
        opts=target.options(opts),
    )
    if target.catalog is None or target.stage is None or target.file_format is None:
        raise ValueError("Snowflake pipes need the database, stage and file format (Target)")
    snowflake.Pipe(
        f"{spec.name}-pipe",
        database=target.catalog,
        schema=dialect.name(target.namespace),
        name=pipe_name(spec),
        comment=f"Loads staged files of {spec.name}.",
        copy_statement=dialect.copy_into(
            spec, target.namespace, target.stage, target.file_format, target.catalog
        ),
        auto_ingest=False,
        # An additive column changes the COPY, and the provider replaces a pipe whose COPY
        # changes: the pipe keeps its name, so the old one must go first. Its load history goes
        # with it; files still in the stage may then load twice (Snowflake does not enforce the
        # primary key), which is why the stage is for files not yet loaded only.
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[table, *target.after], delete_before_replace=True)
        ),
    )
    return table
