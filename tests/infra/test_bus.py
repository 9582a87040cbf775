"""The bus component per driver, asserted on the program's registrations under mocks."""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime.mocks import MockResourceArgs

from infra.bus import KAFKA_PROVIDER_MECHANISM
from infra.mocks import PUBSUB_COLLECTIONS, WarehouseMocks
from tests.infra.conftest import RunOf, cloud_run

KAFKA_TOPIC = "kafka:index/topic:Topic"
PUBSUB_TOPIC = "gcp:pubsub/topic:Topic"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"


def _env(run: Any) -> dict[str, Any]:
    container = cloud_run(run).inputs["template"]["containers"][0]
    return {env["name"]: env.get("value", env.get("valueSource")) for env in container["envs"]}


def test_kafka_topic_and_dead_letter_topic_follow_config(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    topics = {t.name: t.inputs for t in run.of_type(KAFKA_TOPIC)}

    assert {name: inputs["name"] for name, inputs in topics.items()} == {
        "events": "analytics-events",
        "dead-letter": "analytics-events-dead-letter",
    }
    for inputs in topics.values():
        assert (inputs["partitions"], inputs["replicationFactor"]) == (6, 3)
        assert inputs["config"] == {"retention.ms": "604800000", "cleanup.policy": "delete"}


def test_kafka_topics_live_on_the_brokers_the_contract_publishes(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    provider = run.one("pulumi:providers:kafka", "brokers")
    brokers = ["kafka-0.internal:9092", "kafka-1.internal:9092", "kafka-2.internal:9092"]

    assert json.loads(provider.inputs["bootstrapServers"]) == brokers == run.outputs["bus"]["brokers"]
    assert {t.provider for t in run.of_type(KAFKA_TOPIC)} == {"brokers"}


def test_dev_kafka_provider_dials_plaintext_like_the_compose_broker(run_of: RunOf) -> None:
    run, _ = run_of("dev")
    provider = run.one("pulumi:providers:kafka", "brokers")

    # The provider's own default is TLS on, whatever KAFKA_ENABLE_TLS says: it must be sent.
    assert provider.inputs["tlsEnabled"] == "false"
    assert "saslUsername" not in provider.inputs and "saslPassword" not in provider.inputs
    assert run.outputs["bus"]["brokers"] == ["localhost:9092"]
    assert [t.inputs["replicationFactor"] for t in run.of_type(KAFKA_TOPIC)] == [1, 1]


def test_the_kafka_provider_and_the_ingest_client_share_tls_and_sasl(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    provider = run.one("pulumi:providers:kafka", "brokers").inputs
    env = _env(run)

    assert provider["tlsEnabled"] == "true"
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert (provider["saslMechanism"], env["KAFKA_SASL_MECHANISM"]) == ("scram-sha512", "SCRAM-SHA-512")
    assert provider["saslUsername"] == env["KAFKA_SASL_USERNAME"] == "analytics-ingest"
    assert provider["saslPassword"] == "[secret]"
    assert env["KAFKA_SASL_PASSWORD"]["secretKeyRef"]["secret"].endswith("-kafka-sasl-password")


def test_every_librdkafka_mechanism_has_the_providers_name() -> None:
    assert KAFKA_PROVIDER_MECHANISM == {
        "PLAIN": "plain",
        "SCRAM-SHA-256": "scram-sha256",
        "SCRAM-SHA-512": "scram-sha512",
    }


def test_the_pubsub_topic_has_no_topic_schema(run_of: RunOf) -> None:
    for stack in ("prod-bigquery", "staging"):
        run, _ = run_of(stack)
        assert run.of_type("gcp:pubsub/schema:Schema") == []
        assert all("schemaSettings" not in topic.inputs for topic in run.of_type(PUBSUB_TOPIC))


def test_mock_pubsub_ids_name_their_own_collection() -> None:
    mocks = WarehouseMocks()
    ids = {
        typ: mocks.new_resource(MockResourceArgs(typ, "x", {"name": "n", "project": "p"}, "", "", None))[0]
        for typ in PUBSUB_COLLECTIONS
    }

    assert ids == {
        "gcp:pubsub/topic:Topic": "projects/p/topics/n",
        "gcp:pubsub/subscription:Subscription": "projects/p/subscriptions/n",
        "gcp:pubsub/schema:Schema": "projects/p/schemas/n",
    }


def test_ingest_subscription_is_pull_at_least_once_with_dead_letter_and_retry(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    subscription = run.one(SUBSCRIPTION, "ingest")
    dead_letter = run.one(PUBSUB_TOPIC, "dead-letter")

    assert subscription.inputs["name"] == "analytics-events-ingest" == run.outputs["bus"]["subscription"]
    assert subscription.inputs["topic"] == "projects/laundry-analytics/topics/analytics-events"
    assert subscription.inputs["ackDeadlineSeconds"] == 60
    assert subscription.inputs["messageRetentionDuration"] == "604800s"
    assert subscription.inputs["enableExactlyOnceDelivery"] is False
    assert subscription.inputs["expirationPolicy"] == {"ttl": ""}
    assert subscription.inputs["deadLetterPolicy"] == {
        "deadLetterTopic": "projects/laundry-analytics/topics/analytics-events-dead-letter",
        "maxDeliveryAttempts": 10,
    }
    assert subscription.inputs["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    assert run.depends_on(subscription, dead_letter)
    assert "pushConfig" not in subscription.inputs


def test_the_pubsub_agent_may_dead_letter_and_dead_letters_are_kept(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    hold = run.one(SUBSCRIPTION, "dead-letter-hold")
    publish = run.one(TOPIC_IAM, "agent-publishes-dead-letters")
    forward = run.one(SUBSCRIPTION_IAM, "agent-forwards-dead-letters")
    agent = "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"

    assert hold.inputs["topic"] == "projects/laundry-analytics/topics/analytics-events-dead-letter"
    assert (publish.inputs["topic"], publish.inputs["role"], publish.inputs["member"]) == (
        "analytics-events-dead-letter",
        "roles/pubsub.publisher",
        agent,
    )
    assert (forward.inputs["subscription"], forward.inputs["role"], forward.inputs["member"]) == (
        "analytics-events-ingest",
        "roles/pubsub.subscriber",
        agent,
    )


def test_the_service_may_pull_the_subscription_and_publish_to_the_topic(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    account = "serviceAccount:ingest-prod-bigquery@laundry-analytics.iam.gserviceaccount.com"
    subscriber = run.one(SUBSCRIPTION_IAM, "ingest-subscriber").inputs
    publisher = run.one(TOPIC_IAM, "ingest-publisher").inputs

    assert (subscriber["subscription"], subscriber["role"], subscriber["member"]) == (
        "analytics-events-ingest",
        "roles/pubsub.subscriber",
        account,
    )
    assert (publisher["topic"], publisher["role"], publisher["member"]) == (
        "analytics-events",
        "roles/pubsub.publisher",
        account,
    )
