"""The bus component per driver, asserted on the program's registrations under mocks."""

from __future__ import annotations

import json

from infra.bus import MAXIMUM_BACKOFF, MINIMUM_BACKOFF
from schema.artifacts import avro_schema
from tests.infra.conftest import RunOf

KAFKA_TOPIC = "kafka:index/topic:Topic"
PUBSUB_TOPIC = "gcp:pubsub/topic:Topic"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"


def test_kafka_topic_and_dead_letter_topic_follow_config(run_of: RunOf) -> None:
    run, config = run_of("prod-snowflake")
    topics = {t.name: t.inputs for t in run.of_type(KAFKA_TOPIC)}

    assert {name: inputs["name"] for name, inputs in topics.items()} == {
        "events": config.kafka_topic,
        "dead-letter": f"{config.kafka_topic}-dead-letter",
    }
    for inputs in topics.values():
        assert inputs["partitions"] == config.kafka_partitions
        assert inputs["replicationFactor"] == config.kafka_replication_factor
        assert inputs["config"]["retention.ms"] == str(config.kafka_retention_ms)


def test_kafka_topics_live_on_the_brokers_the_contract_publishes(run_of: RunOf) -> None:
    run, _ = run_of("prod-snowflake")
    provider = run.one("pulumi:providers:kafka", "brokers")

    assert json.loads(provider.inputs["bootstrapServers"]) == run.outputs["bus"]["brokers"]
    assert {t.provider for t in run.of_type(KAFKA_TOPIC)} == {"brokers"}
    assert len(run.outputs["bus"]["brokers"]) == 3


def test_dev_kafka_is_the_old_compose_broker(run_of: RunOf) -> None:
    run, _ = run_of("dev")

    assert run.outputs["bus"]["brokers"] == ["localhost:9092"]
    assert [t.inputs["replicationFactor"] for t in run.of_type(KAFKA_TOPIC)] == [1, 1]


def test_pubsub_topic_carries_the_schema_modules_avro_schema(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    schema = run.one("gcp:pubsub/schema:Schema", "events-schema")
    topic = run.one(PUBSUB_TOPIC, "events")

    assert schema.inputs["type"] == "AVRO"
    assert json.loads(schema.inputs["definition"]) == avro_schema()
    assert topic.inputs["schemaSettings"]["encoding"] == "JSON"
    assert run.depends_on(topic, schema)
    assert "schemaSettings" not in run.one(PUBSUB_TOPIC, "dead-letter").inputs


def test_ingest_subscription_has_dead_letter_and_retry_policies(run_of: RunOf) -> None:
    run, config = run_of("prod-bigquery")
    subscription = run.one(SUBSCRIPTION, "ingest")
    dead_letter = run.one(PUBSUB_TOPIC, "dead-letter")

    assert (
        subscription.inputs["name"] == f"{config.pubsub_topic}-ingest" == run.outputs["bus"]["subscription"]
    )
    assert subscription.inputs["deadLetterPolicy"] == {
        "deadLetterTopic": f"projects/{config.gcp_project}/topics/{config.pubsub_topic}-dead-letter",
        "maxDeliveryAttempts": config.pubsub_max_delivery_attempts,
    }
    assert subscription.inputs["retryPolicy"] == {
        "minimumBackoff": MINIMUM_BACKOFF,
        "maximumBackoff": MAXIMUM_BACKOFF,
    }
    assert run.depends_on(subscription, dead_letter)
    assert "pushConfig" not in subscription.inputs


def test_dead_letters_are_kept_and_the_pubsub_agent_may_forward_them(run_of: RunOf) -> None:
    run, _ = run_of("prod-bigquery")
    hold = run.one(SUBSCRIPTION, "dead-letter-hold")
    publish = run.one("gcp:pubsub/topicIAMMember:TopicIAMMember", "agent-publishes-dead-letters")
    forward = run.one("gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember", "agent-forwards-dead-letters")

    assert hold.inputs["topic"].endswith("-dead-letter")
    assert publish.inputs["role"] == "roles/pubsub.publisher"
    assert forward.inputs["role"] == "roles/pubsub.subscriber"
    assert publish.inputs["member"] == forward.inputs["member"]
    assert publish.inputs["member"].endswith("@gcp-sa-pubsub.iam.gserviceaccount.com")


def test_memory_bus_declares_nothing(run_of: RunOf) -> None:
    run, _ = run_of("staging")
    bus = run.one("analytics:bus:Bus", "bus")

    assert [r.ref for r in run.registrations if r.parent == bus.urn] == []
    assert run.outputs["bus"] == {
        "driver": "memory",
        "topic": None,
        "dead_letter_topic": None,
        "brokers": [],
        "project": None,
        "subscription": None,
    }
