"""The Kafka driver (confluent-kafka): a consumer group member, and a producer for HTTP input.

Offsets are stored and committed by hand, only for positions the sink reports as committed to the
warehouse. On a rebalance the revoke hook flushes the sink and commits synchronously before the
partitions go; anything still in flight for a revoked partition is never committed by this member
(the new owner re-reads it, and the idempotent writes absorb the duplicates).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ingest.bus.base import Bus, BusFull, Polled
from ingest.config import Settings
from ingest.messages import Message

log = logging.getLogger(__name__)

PRODUCER_POLL_S = 0.05
PING_TIMEOUT_S = 2.0
# How long POST /v1/events waits for the broker to acknowledge before answering 503 (librdkafka's
# default is five minutes, longer than any client waits).
PUBLISH_TIMEOUT_MS = 10_000
# How long the broker may hold a fetch that has too little data. A broker answers at once when
# data is there, except that Tansu holds every fetch this long: at librdkafka's 500 ms default,
# produce -> row latency there was ~140 ms p50 for the fetch alone, at 10 ms ~28 ms. The cost is
# an empty fetch every 10 ms per broker while the topic is idle.
FETCH_WAIT_MAX_MS = 10
# librdkafka prefetches up to 64 MB (or 100k messages per partition) by default, outside Python's
# view and outside the sink's bound. Measured with bench/bench_kafka.py and bench_rss.py on Tansu:
# 16 MB -> 33k events/s, 133 MB peak; 32 MB -> 53k/s, 149 MB; 48 MB -> 65k/s, 174 MB.
PREFETCH_KBYTES = 48 * 1024


def client_security(settings: Settings) -> dict[str, str]:
    """librdkafka's TLS/SASL settings, the same the Pulumi program's Kafka provider uses."""
    security: dict[str, str] = {"security.protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL_"):
        assert settings.kafka_sasl_mechanism and settings.kafka_sasl_username and settings.kafka_sasl_password
        security["sasl.mechanism"] = settings.kafka_sasl_mechanism
        security["sasl.username"] = settings.kafka_sasl_username
        security["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    return security


class KafkaBus(Bus):
    durable = True
    name = "kafka"

    def __init__(self, settings: Settings) -> None:
        import confluent_kafka

        self._kafka = confluent_kafka
        assert settings.kafka_topic is not None
        self.topic: str = settings.kafka_topic
        self.brokers = ",".join(settings.kafka_brokers)
        self.group = settings.kafka_group
        self.session_timeout_ms = settings.kafka_session_timeout_ms
        self.security = client_security(settings)
        self._consumer: Any = None
        self._producer: Any = None
        self._producer_thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._assigned: set[int] = set()
        self._paused = False
        self._revoke_hook: Callable[[], None] | None = None

    # -- consuming -------------------------------------------------------------------------

    def _consumer_instance(self) -> Any:
        if self._consumer is None:
            self._consumer = self._kafka.Consumer(
                {
                    "bootstrap.servers": self.brokers,
                    **self.security,
                    "group.id": self.group,
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "auto.offset.reset": "earliest",
                    "session.timeout.ms": self.session_timeout_ms,
                    "heartbeat.interval.ms": max(self.session_timeout_ms // 5, 500),
                    "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
                    "queued.max.messages.kbytes": PREFETCH_KBYTES,
                    "on_commit": self._on_commit,
                    "logger": log,
                }
            )
            self._consumer.subscribe(
                [self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
            )
        return self._consumer

    def poll(self, max_messages: int, timeout: float) -> Polled:
        consumer = self._consumer_instance()
        records = consumer.consume(num_messages=max_messages, timeout=timeout)
        messages: list[Message] = []
        offsets: dict[int, int] = {}
        topic = self.topic
        for record in records:
            error = record.error()
            if error is not None:
                if error.fatal():
                    raise self._kafka.KafkaException(error)
                log.warning("kafka consumer: %s", error)
                continue
            partition, offset = record.partition(), record.offset()
            messages.append(Message(record.value() or b"", f"kafka:{topic}/{partition}/{offset}"))
            offsets[partition] = offset + 1
        return Polled(messages, offsets or None)

    def commit(self, positions: Sequence[Any], wait: bool = False) -> None:
        merged: dict[int, int] = {}
        for offsets in positions:
            for partition, offset in offsets.items():
                merged[partition] = max(offset, merged.get(partition, 0))
        owned = [
            self._kafka.TopicPartition(self.topic, partition, offset)
            for partition, offset in merged.items()
            if partition in self._assigned
        ]
        if not owned or self._consumer is None:
            return
        try:
            self._consumer.commit(offsets=owned, asynchronous=not wait)
        except self._kafka.KafkaException as error:
            # Lost the partitions meanwhile: the next owner re-reads from its last commit.
            log.warning("kafka commit of %s failed: %s", owned, error)

    def _on_commit(self, error: Any, partitions: Any) -> None:
        if error is not None:
            log.warning("kafka commit failed: %s", error)

    def pause(self) -> None:
        if not self._paused and self._consumer is not None:
            self._consumer.pause(self._consumer.assignment())
        self._paused = True

    def resume(self) -> None:
        if self._paused and self._consumer is not None:
            self._consumer.resume(self._consumer.assignment())
        self._paused = False

    @property
    def assigned(self) -> frozenset[int]:
        """Partitions this member owns now."""
        return frozenset(self._assigned)

    def on_revoke(self, hook: Callable[[], None]) -> None:
        self._revoke_hook = hook

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        consumer.assign(partitions)
        # librdkafka keeps a partition's pause flag across assignments (a partition paused before
        # a rebalance comes back paused): set it explicitly to what the sink needs now.
        if self._paused:
            consumer.pause(partitions)
        else:
            consumer.resume(partitions)
        self._assigned.update(p.partition for p in partitions)
        log.info("kafka: assigned partitions %s", sorted(p.partition for p in partitions))

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        if self._revoke_hook is not None:
            self._revoke_hook()
        self._assigned.difference_update(p.partition for p in partitions)
        log.info("kafka: revoked partitions %s", sorted(p.partition for p in partitions))

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        # Lost (not revoked): another member may own them already; commit nothing for them.
        self._assigned.difference_update(p.partition for p in partitions)
        log.warning("kafka: lost partitions %s", sorted(p.partition for p in partitions))

    # -- producing (POST /v1/events) -------------------------------------------------------

    def _producer_instance(self) -> Any:
        if self._producer is None:
            self._producer = self._kafka.Producer(
                {
                    "bootstrap.servers": self.brokers,
                    **self.security,
                    "acks": "all",
                    "enable.idempotence": True,
                    "linger.ms": 5,
                    "delivery.timeout.ms": PUBLISH_TIMEOUT_MS,
                    "logger": log,
                }
            )
            self._producer_thread = threading.Thread(
                target=self._serve_deliveries, name="kafka-deliveries", daemon=True
            )
            self._producer_thread.start()
        return self._producer

    def _serve_deliveries(self) -> None:
        while not self._closing.is_set():
            self._producer.poll(PRODUCER_POLL_S)

    async def publish(self, messages: Sequence[Message]) -> None:
        producer = self._producer_instance()
        loop = asyncio.get_running_loop()
        deliveries: list[asyncio.Future[None]] = []
        for message in messages:
            delivered: asyncio.Future[None] = loop.create_future()

            def settle(error: Any, _record: Any, delivered: asyncio.Future[None] = delivered) -> None:
                loop.call_soon_threadsafe(_settle, delivered, error)

            try:
                producer.produce(self.topic, message.raw, on_delivery=settle)
            except BufferError as error:
                raise BusFull(f"the Kafka producer queue is full: {error}") from None
            deliveries.append(delivered)
        await asyncio.gather(*deliveries)

    # -- readiness and shutdown ------------------------------------------------------------

    def ping(self) -> None:
        metadata = self._producer_instance().list_topics(self.topic, timeout=PING_TIMEOUT_S)
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None:
            raise RuntimeError(f"topic {self.topic!r} not available: {topic.error if topic else 'missing'}")

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(10)
        self._closing.set()
        if self._producer_thread is not None:
            self._producer_thread.join()
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def _settle(delivered: asyncio.Future[None], error: Any) -> None:
    if delivered.done():
        return
    if error is None:
        delivered.set_result(None)
    else:
        delivered.set_exception(RuntimeError(f"Kafka did not take the event: {error}"))
