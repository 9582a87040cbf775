"""BigQuery: the dataset (location, labels, deletion policy), write access for the ingest service
account on that dataset only, and the tables.

Access is a non-authoritative ``DatasetIamMember``: the dataset's ``accesses`` list is
authoritative and would strip the owners Google adds by default.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.tables import bigquery as tables
from infra.warehouses import Context, Parts, deletion_policy
from schema.tables import TABLES

WRITER_ROLE = "roles/bigquery.dataEditor"


def labels(stack: str) -> dict[str, str]:
    return {"app": "analytics-warehouse", "stack": stack, "managed-by": "pulumi"}


def build(context: Context) -> Parts:
    config = context.config
    protected = config.protect
    stack_labels = labels(pulumi.get_stack())
    dataset = gcp.bigquery.Dataset(
        "dataset",
        dataset_id=config.namespace,
        project=config.gcp_project,
        location=config.bigquery_location,
        description="Analytics events of the API, one table per event family, and dead letters.",
        labels=stack_labels,
        delete_contents_on_destroy=False,
        deletion_policy=deletion_policy(protected),
        opts=context.child(protect=protected),
    )
    if context.writer is not None:
        gcp.bigquery.DatasetIamMember(
            "ingest-writer",
            project=config.gcp_project,
            dataset_id=dataset.dataset_id,
            role=WRITER_ROLE,
            member=context.writer,
            opts=context.child(),
        )
    target = tables.Target(
        project=config.gcp_project, dataset_id=dataset.dataset_id, protected=protected, labels=stack_labels
    )
    declared = {spec.name: tables.declare(spec, target, context.child()) for spec in TABLES}
    return Parts(tables=declared, catalog=config.gcp_project)
