"""BigQuery tables: ``bigquery.Table`` with the schema module's schema JSON, DAY partitioning on
the spec's partition column, its clustering, and deletion protection.

Additive evolution only appends NULLABLE fields to ``schema``, which the provider applies in place;
partitioning and clustering (which would force a replacement, and the provider deletes before it
replaces) can only change with a new table version, as ``schema.evolution`` enforces.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_gcp as gcp

from infra.tables import Target
from schema.dialects import BIGQUERY as bigquery
from schema.tables import TableSpec


def table_args(spec: TableSpec) -> dict[str, Any]:
    """The inputs the schema module decides (schema, partitioning, clustering, description)."""
    partitioning = bigquery.time_partitioning(spec)
    return {
        "table_id": spec.name,
        "description": spec.description,
        "schema": json.dumps(bigquery.schema_fields(spec)),
        "time_partitioning": gcp.bigquery.TableTimePartitioningArgs(
            type=partitioning["type"], field=partitioning["field"]
        ),
        "clusterings": bigquery.clustering(spec),
    }


def declare(spec: TableSpec, target: Target, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    return gcp.bigquery.Table(
        spec.name,
        project=target.catalog,
        dataset_id=target.namespace,
        deletion_protection=target.protected,
        labels=dict(target.labels),
        **table_args(spec),
        opts=target.options(opts),
    )
