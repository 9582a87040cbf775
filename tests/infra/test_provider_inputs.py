"""The class of check the mocks cannot give: what a real ``pulumi up`` would refuse.

For every resource of every stack: its inputs against the provider SDK's own ``*Args`` classes
(names, types, required and deprecated inputs, the values the docstrings allow) and the limits
the providers document; names unique per project (or Kafka cluster, or Snowflake account) across
all stacks; and every reference (topic, subscription, secret, dataset, account, role, schema,
stage, dependency) naming something the stack declares or its config names as external.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from infra.config import StackConfig
from infra.mocks import Registration, Run
from tests.infra.conftest import STACKS, RunOf
from tests.infra.provider_schema import documented_problems, problems

AGENT_SUFFIX = "@gcp-sa-pubsub.iam.gserviceaccount.com"
# How many references each stack holds: a reference the extraction stops seeing fails here.
REFERENCES = {"dev": 20, "staging": 37, "prod-bigquery": 19, "prod-snowflake": 47}


@pytest.mark.parametrize("stack", STACKS)
def test_every_input_is_one_the_provider_accepts(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)

    found = [problem for r in run.registrations for problem in problems(r.type, r.inputs)]

    assert found == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_input_keeps_the_limits_the_providers_document(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)

    found = [problem for r in run.registrations for problem in documented_problems(r.type, r.inputs)]

    assert found == []


def test_the_checker_flags_what_a_provider_would_refuse() -> None:
    subscription = "gcp:pubsub/subscription:Subscription"
    bad = {
        "name": "ingest",
        "topic": "t",
        "ackDeadlineSecond": 60,
        "enableExactlyOnceDelivery": "no",
        "retryPolicy": {"minimumBackoff": 10},
    }

    assert sorted(problems(subscription, bad)) == [
        f"{subscription}.ackDeadlineSecond: not an input of SubscriptionArgs",
        f"{subscription}.enableExactlyOnceDelivery: expected a boolean, got 'no'",
        f"{subscription}.retryPolicy.minimumBackoff: expected a string, got 10",
    ]
    assert list(problems(subscription, {"name": "ingest"})) == [
        f"{subscription}.topic: required by SubscriptionArgs and not set"
    ]
    assert list(
        problems("gcp:cloudrunv2/service:Service", {"location": "x", "ingress": "ALL", "template": {}})
    ) == [
        "gcp:cloudrunv2/service:Service.ingress: 'ALL' is not one of "
        "['INGRESS_TRAFFIC_ALL', 'INGRESS_TRAFFIC_INTERNAL_ONLY', 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER']"
    ]
    assert list(
        problems(
            "snowflake:index/table:Table",
            {
                "database": "D",
                "schema": "S",
                "columns": [{"name": "A", "type": "INT"}],
                "primaryKey": {"keys": ["A"]},
            },
        )
    ) == ["snowflake:index/table:Table.primaryKey: deprecated in TableArgs"]
    assert list(
        problems("pulumi:providers:kafka", {"bootstrapServers": "[]", "saslMechanism": "SCRAM-SHA-512"})
    ) == [
        "pulumi:providers:kafka.saslMechanism: 'SCRAM-SHA-512' is not one of "
        "['plain', 'scram-sha512', 'scram-sha256', 'aws-iam']"
    ]
    assert list(
        documented_problems(
            "gcp:serviceaccount/account:Account", {"accountId": "analytics-ingest-prod-snowflake"}
        )
    ) == [
        "gcp:serviceaccount/account:Account.accountId: 'analytics-ingest-prod-snowflake' breaks account_id: 6-30 "
        "characters matching [a-z]([-a-z0-9]*[a-z0-9]) (RFC1035; the IAM API's pattern)"
    ]


def _named(run: Run) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(namespace the name must be unique in, name) of every named resource."""
    providers = {r.name: r.inputs for r in run.registrations if r.type.startswith("pulumi:providers:")}
    for r in run.registrations:
        i = r.inputs
        if r.type.endswith(("IAMMember", "IamMember")) or r.type.startswith(("analytics:", "pulumi:")):
            continue
        if r.type.startswith("gcp:"):
            key = i.get("accountId") or i.get("secretId") or i.get("datasetId") or i.get("name")
            # Cloud Run services and worker pools are taken as one namespace, to be safe.
            kind = "cloudrun" if r.type.startswith("gcp:cloudrunv2/") else r.type
            scope: tuple[Any, ...] = (i.get("project"), kind, i.get("location"))
            if r.type == "gcp:bigquery/table:Table":
                scope, key = (i["project"], r.type, i["datasetId"]), i["tableId"]
            if key is not None:  # unnamed: secret versions
                yield scope, str(key)
        elif r.type.startswith("kafka:"):
            yield (providers[r.provider]["bootstrapServers"], r.type), i["name"]
        elif r.type.startswith("snowflake:") and "name" in i:
            account = providers[r.provider]
            place = ".".join(str(i[key]) for key in ("database", "schema") if key in i)
            yield (account.get("organizationName"), account.get("accountName"), r.type, place), i["name"]


def test_names_are_unique_per_project_across_every_stack(run_of: RunOf) -> None:
    owners: dict[tuple[tuple[Any, ...], str], list[str]] = defaultdict(list)
    for stack in STACKS:
        run, _ = run_of(stack)
        for scope, name in _named(run):
            owners[(scope, name)].append(stack)

    clashes = {f"{scope} {name}": stacks for (scope, name), stacks in owners.items() if len(stacks) > 1}

    assert clashes == {}
    assert len(owners) == 41  # every named resource of the four stacks was looked at


def _declared(run: Run, config: StackConfig) -> dict[str, set[str]]:
    """What a reference may name: the stack's resources (in every form the provider accepts)."""
    declared: dict[str, set[str]] = defaultdict(set)
    for r in run.registrations:
        i, kind = r.inputs, r.type.split(":")[-1]
        if r.type == "gcp:pubsub/topic:Topic":
            declared["topic"] |= {i["name"], f"projects/{i['project']}/topics/{i['name']}"}
        elif r.type == "gcp:pubsub/subscription:Subscription":
            declared["subscription"] |= {i["name"], f"projects/{i['project']}/subscriptions/{i['name']}"}
        elif r.type == "gcp:secretmanager/secret:Secret":
            declared["secret"] |= {i["secretId"], f"projects/{i['project']}/secrets/{i['secretId']}"}
        elif r.type == "gcp:serviceaccount/account:Account":
            email = f"{i['accountId']}@{i['project']}.iam.gserviceaccount.com"
            declared["email"].add(email)
            declared["member"].add(f"serviceAccount:{email}")
        elif r.type == "gcp:bigquery/dataset:Dataset":
            declared["dataset"].add(i["datasetId"])
        elif r.type == "gcp:cloudrunv2/service:Service":
            declared["service"].add(i["name"])
        elif kind in ("AccountRole", "Role"):
            declared["role"].add(i["name"])
        elif r.type == "snowflake:index/schema:Schema":
            declared["sf-schema"].add(f"{i['database']}.{i['name']}")
        elif r.type in (
            "snowflake:index/stageInternal:StageInternal",
            "snowflake:index/fileFormatJson:FileFormatJson",
        ):
            declared["sf-object"].add(f"{i['database']}.{i['schema']}.{i['name']}")
        elif r.type == "postgresql:index/schema:Schema":
            declared["pg-schema"].add(i["name"])
        elif r.type == "pulumi-python:dynamic/postgres:Table":
            declared["pg-table"].add(i["table"])
    declared["member"] |= set(config.ingest_invokers)
    return declared


def _references(r: Registration) -> Iterator[tuple[str, str, Any]]:
    """(what kind of thing, input path, value) of every reference in a resource's inputs."""
    i = r.inputs
    simple = {
        "gcp:pubsub/subscription:Subscription": [("topic", "topic")],
        "gcp:pubsub/topicIAMMember:TopicIAMMember": [("topic", "topic")],
        "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": [("subscription", "subscription")],
        "gcp:secretmanager/secretVersion:SecretVersion": [("secret", "secret")],
        "gcp:secretmanager/secretIamMember:SecretIamMember": [("secret", "secretId")],
        "gcp:bigquery/datasetIamMember:DatasetIamMember": [("dataset", "datasetId")],
        "gcp:bigquery/table:Table": [("dataset", "datasetId")],
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": [("service", "name")],
        "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole": [
            ("role", "accountRoleName")
        ],
        "snowflake:index/grantAccountRole:GrantAccountRole": [("role", "roleName")],
        "postgresql:index/grant:Grant": [("role", "role"), ("pg-schema", "schema")],
        "postgresql:index/grantRole:GrantRole": [("role", "grantRole")],
        "postgresql:index/defaultPrivileges:DefaultPrivileges": [("role", "role"), ("pg-schema", "schema")],
    }
    for kind, key in simple.get(r.type, []):
        if key in i:
            yield kind, key, i[key]
    if "member" in i and not str(i["member"]).endswith(AGENT_SUFFIX):
        yield "member", "member", i["member"]
    if "deadLetterPolicy" in i:
        yield "topic", "deadLetterPolicy.deadLetterTopic", i["deadLetterPolicy"]["deadLetterTopic"]
    for table in i.get("objects", []) if r.type == "postgresql:index/grant:Grant" else []:
        yield "pg-table", "objects", table
    if r.type.startswith("snowflake:index/") and "schema" in i and "database" in i:
        yield "sf-schema", "database.schema", f"{i['database']}.{i['schema']}"
    for key in ("onSchema", "onSchemaObject"):
        on = i.get(key) or {}
        if "schemaName" in on:
            yield "sf-schema", f"{key}.schemaName", on["schemaName"]
        for scope in ("all", "future"):
            if scope in on:
                yield "sf-schema", f"{key}.{scope}.inSchema", on[scope]["inSchema"]
        if "objectName" in on:
            yield "sf-object", f"{key}.objectName", on["objectName"]
    template = i.get("template") or {}
    if r.type.startswith("gcp:cloudrunv2/") and template:
        yield "email", "template.serviceAccount", template["serviceAccount"]
        for container in template["containers"]:
            for env in container.get("envs", []):
                if "valueSource" in env:
                    yield "secret", f"env {env['name']}", env["valueSource"]["secretKeyRef"]["secret"]
        for volume in template.get("volumes", []):
            yield "secret", f"volume {volume['name']}", volume["secret"]["secret"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_reference_names_something_declared(stack: str, run_of: RunOf) -> None:
    run, config = run_of(stack)
    declared = _declared(run, config)
    references = [(r.ref, *reference) for r in run.registrations for reference in _references(r)]

    dangling = [
        (ref, kind, path, value) for ref, kind, path, value in references if value not in declared[kind]
    ]

    assert dangling == []
    assert len(references) == REFERENCES[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_every_dependency_parent_and_provider_is_declared(stack: str, run_of: RunOf) -> None:
    run, _ = run_of(stack)
    urns = {r.urn for r in run.registrations}
    providers = {r.name for r in run.registrations if r.type.startswith("pulumi:providers:")}

    assert [(r.ref, d) for r in run.registrations for d in r.dependencies if d not in urns] == []
    assert [
        r.ref for r in run.registrations if r.parent not in urns and "::pulumi:pulumi:Stack::" not in r.parent
    ] == []
    assert [r.ref for r in run.registrations if r.provider and r.provider not in providers] == []
