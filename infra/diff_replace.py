"""Which input changes make a provider replace a resource instead of updating it in place.

This is the package's reading of each provider, not the engine's plan: without the Pulumi CLI and
the provider plugins nobody here can ask a provider to diff. The rules come from the providers'
documentation (the SDK docstrings where they say "Changing this forces a new resource", the
upstream Terraform providers' force-new arguments otherwise) for the resource types this program
declares. A type without a rule is reported as such, never guessed as in-place. Keys are the
engine's (camelCase) input names, as the render prints them; a rule names a top-level input, or
``input.field`` for a field inside an object input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Every input of an IAM member binding identifies it: any change is a new binding.
_IAM_MEMBER = frozenset({"*"})


@dataclass(frozen=True)
class Rule:
    """``replaces``: inputs whose change forces a replacement (``*``: any input); ``note``: why."""

    replaces: frozenset[str]
    note: str = ""


def _rule(*replaces: str, note: str = "") -> Rule:
    return Rule(frozenset(replaces), note)


RULES: dict[str, Rule] = {
    # pulumi-gcp (google provider)
    "gcp:bigquery/dataset:Dataset": _rule("datasetId", "project", "location"),
    "gcp:bigquery/table:Table": _rule(
        "datasetId",
        "tableId",
        "project",
        "timePartitioning.field",
        "timePartitioning.type",
        "rangePartitioning",
        "schema",
        note="a schema change is in place only when it adds columns or relaxes REQUIRED to NULLABLE; "
        "the provider replaces the table for a dropped, renamed or retyped column",
    ),
    "gcp:bigquery/datasetIamMember:DatasetIamMember": Rule(_IAM_MEMBER),
    "gcp:pubsub/topic:Topic": _rule("name", "project", "kmsKeyName"),
    "gcp:pubsub/schema:Schema": _rule(
        "name", "project", "type", note="a new definition is a new schema revision"
    ),
    "gcp:pubsub/subscription:Subscription": _rule(
        "name", "project", "topic", "enableMessageOrdering", "filter", "enableExactlyOnceDelivery"
    ),
    "gcp:pubsub/topicIAMMember:TopicIAMMember": Rule(_IAM_MEMBER),
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": Rule(_IAM_MEMBER),
    "gcp:serviceaccount/account:Account": _rule("accountId", "project"),
    "gcp:secretmanager/secret:Secret": _rule("secretId", "project", "replication"),
    "gcp:secretmanager/secretVersion:SecretVersion": _rule("secret", "secretData"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": Rule(_IAM_MEMBER),
    "gcp:cloudrunv2/service:Service": _rule(
        "name", "project", "location", note="a template change rolls a new revision in place"
    ),
    "gcp:cloudrunv2/workerPool:WorkerPool": _rule(
        "name", "project", "location", note="a template change rolls a new revision in place"
    ),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": Rule(_IAM_MEMBER),
    "gcp:artifactregistry/repository:Repository": _rule(
        "repositoryId", "project", "location", "format", "mode", "kmsKeyName"
    ),
    # pulumi-kafka: partitions can only grow; a smaller count is a new topic (see replacement()).
    "kafka:index/topic:Topic": _rule("name", "replicationFactor"),
    # pulumi-postgresql
    "postgresql:index/role:Role": _rule(note="a new name renames the role in place"),
    "postgresql:index/schema:Schema": _rule("database", note="a new name renames the schema in place"),
    "postgresql:index/grant:Grant": Rule(_IAM_MEMBER, "every input identifies the grant"),
    "postgresql:index/defaultPrivileges:DefaultPrivileges": Rule(_IAM_MEMBER),
    "postgresql:index/grantRole:GrantRole": Rule(_IAM_MEMBER),
    # this package's dynamic provider: additive changes in place, anything else refused, never replaced
    "pulumi-python:dynamic/postgres:Table": _rule(
        note="infra.tables.postgres never replaces; it refuses a breaking change"
    ),
    # pulumi-snowflake
    "snowflake:index/schema:Schema": _rule("database", note="a new name renames the schema in place"),
    "snowflake:index/table:Table": _rule(
        "database", "schema", note="a new name renames the table; columns are altered in place"
    ),
    "snowflake:index/stageInternal:StageInternal": _rule("database", "schema", "name"),
    "snowflake:index/fileFormatJson:FileFormatJson": _rule("database", "schema", "name"),
    "snowflake:index/pipe:Pipe": _rule(
        "database", "schema", "name", "copyStatement", "autoIngest", note="a pipe's COPY cannot be altered"
    ),
    "snowflake:index/accountRole:AccountRole": _rule(note="a new name renames the role in place"),
    "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole": _rule(
        "accountRoleName", "onAccountObject", "onSchema", "onSchemaObject", "onAccount"
    ),
    "snowflake:index/grantAccountRole:GrantAccountRole": Rule(_IAM_MEMBER),
    # pulumi-docker-build: a new build is a new image (new digest); the registry keeps the old one.
    "docker-build:index:Image": _rule(note="any change rebuilds and pushes a new image"),
}

COMPONENT_PREFIX = "analytics:"
PROVIDER_PREFIX = "pulumi:providers:"


def top_level(path: str) -> str:
    return path.split("[", 1)[0].split(".", 1)[0]


def _forces(rule: Rule, path: str) -> bool:
    if "*" in rule.replaces:
        return True
    head = top_level(path)
    nested = path.split("[", 1)[0].split(".")
    dotted = ".".join(nested[:2])
    return head in rule.replaces or dotted in rule.replaces


def known(type_: str) -> bool:
    return type_ in RULES or type_.startswith((COMPONENT_PREFIX, PROVIDER_PREFIX))


def _bigquery_schema_in_place(before: object, after: object) -> bool:
    """BigQuery updates a table's schema in place when every old column survives with its type and
    a mode no stricter (REQUIRED may become NULLABLE); new columns may only be appended."""
    if not isinstance(before, list) or not isinstance(after, list) or len(after) < len(before):
        return False
    for old, new in zip(before, after, strict=False):
        if not isinstance(old, dict) or not isinstance(new, dict):
            return False
        same = (old.get("name"), old.get("type")) == (new.get("name"), new.get("type"))
        old_mode, new_mode = old.get("mode", "NULLABLE"), new.get("mode", "NULLABLE")
        if not same or (old_mode != new_mode and (old_mode, new_mode) != ("REQUIRED", "NULLABLE")):
            return False
    return all(column.get("mode", "NULLABLE") != "REQUIRED" for column in after[len(before) :])


def replacement(
    type_: str, before: Mapping[str, object], after: Mapping[str, object], paths: Iterable[str]
) -> list[str]:
    """The changed input paths that force ``type_`` to be replaced (with the reason where special).

    Component resources have no provider and are never replaced; explicit providers are updated
    in place (the engine then asks the provider whether its resources must follow, which cannot
    be known here). A type without a rule returns nothing: callers report it as unknown.
    """
    rule = RULES.get(type_)
    if rule is None:
        return []
    reasons: list[str] = []
    for path in sorted({top_level(p) if top_level(p) in SPECIAL else p for p in paths}):
        if type_ == "kafka:index/topic:Topic" and path == "partitions":
            old, new = before.get(path), after.get(path)
            if isinstance(old, int) and isinstance(new, int) and new < old:
                reasons.append("partitions (Kafka cannot remove partitions)")
        elif type_ == "gcp:bigquery/table:Table" and path == "schema":
            if not _bigquery_schema_in_place(before.get(path), after.get(path)):
                reasons.append("schema (a column dropped, renamed, retyped or tightened)")
        elif _forces(rule, path):
            reasons.append(path)
    return reasons


# Inputs judged whole (not per changed field) by the special cases above.
SPECIAL = frozenset({"partitions", "schema"})
