"""The Pub/Sub driver (google-cloud-pubsub): a streaming-pull subscriber, and a publisher for HTTP input.

The library calls back on its own threads; the callback only puts the message into a bounded
hand-over queue (``pubsub_handover``) that ``poll`` drains on the pump thread. A poll's position
is the library messages it returned; ``commit`` acknowledges them (a synchronous Acknowledge
call, then the lease is released) once the sink reports their batch committed to the warehouse,
never earlier.

Flow control is the sink's bound: the library stops pulling while it holds (leased, unacknowledged)
as many messages or bytes as the sink takes before it pushes back, so what waits in the hand-over
queue plus what the sink buffers never exceeds that. While the warehouse is down nothing is
acknowledged and the library's lease manager keeps extending the leases (``modifyAckDeadline``)
for up to ``EVENT_BUS_PUBSUB_MAX_LEASE_S``, so Pub/Sub does not redeliver what this process
still holds. On close, whatever was received and not committed is nacked so it comes back at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from ingest.batcher import WRITE_QUEUE_DEPTH
from ingest.bus.base import Bus, BusFull, BusProblem, Polled
from ingest.bus.pubsub_admin import Missing, check_exists
from ingest.bus.pubsub_handover import Handover
from ingest.config import ConfigError, Settings
from ingest.messages import Message

log = logging.getLogger(__name__)

PING_TIMEOUT_S = 5.0
# How long POST /v1/events waits for Pub/Sub to confirm a publish before answering 503.
PUBLISH_TIMEOUT_S = 10.0
# Unconfirmed publishes are bounded by EVENT_SINK_MAX_BUFFER_BYTES; the count only has to let one
# request of INGEST_MAX_BODY_BYTES of small events through.
PUBLISH_MAX_MESSAGES = 100_000
# Acknowledge / modifyAckDeadline calls carry at most this many ack ids (the library's own chunk:
# a request is limited to 512 KiB and an ack id is up to a few hundred bytes).
ACK_IDS_PER_CALL = 1000
ACK_TIMEOUT_S = 30.0
# The longest single lease extension, and the stream's ack deadline. The library extends leases
# by the 99th percentile of its time-to-ack (10 s to 600 s) and opens the stream with 60 s; both
# bound how long a crashed process's messages stay invisible. Capped at 10 s (the library's own
# extension while acks are quick), they come back within 10 s after a SIGKILL; the price is one
# modifyAckDeadline call per 1000 held messages every few seconds.
MAX_LEASE_EXTENSION_S = 10
# The sink takes input while fewer than WRITE_QUEUE_DEPTH + 1 sealed batches wait, plus its open
# batch: this many batches of EVENT_SINK_BATCH_SIZE are what it holds before it pushes back.
SINK_BATCHES_HELD = WRITE_QUEUE_DEPTH + 2


class PubSubBus(Bus):
    durable = True
    name = "pubsub"

    def __init__(self, settings: Settings) -> None:
        import google.cloud.pubsub_v1 as pubsub_v1
        from google.api_core import exceptions

        self._exceptions = exceptions
        self._pubsub = pubsub_v1
        assert settings.pubsub_topic is not None and settings.pubsub_project is not None
        subscription = settings.pubsub_subscription_id
        assert subscription is not None
        self.subscription_id = subscription
        self.topic_path = f"projects/{settings.pubsub_project}/topics/{settings.pubsub_topic}"
        self.subscription_path = f"projects/{settings.pubsub_project}/subscriptions/{subscription}"
        self.flow_control = pubsub_v1.types.FlowControl(
            max_messages=settings.batch_size * SINK_BATCHES_HELD,
            max_bytes=settings.max_buffer_bytes,
            max_lease_duration=settings.pubsub_max_lease_s,
            max_duration_per_lease_extension=MAX_LEASE_EXTENSION_S,
        )
        self._publish_flow = pubsub_v1.types.PublishFlowControl(
            message_limit=PUBLISH_MAX_MESSAGES,
            byte_limit=settings.max_buffer_bytes,
            limit_exceeded_behavior=pubsub_v1.types.LimitExceededBehavior.ERROR,
        )
        self._origin = f"pubsub:{subscription}/"
        self._subscriber: Any = pubsub_v1.SubscriberClient()
        self._publisher: Any = None
        self._future: Any = None
        self._closing = threading.Event()
        self._handover = Handover(self.flow_control.max_messages, self._closing)
        self._paused = False
        # Counters for tests and logs: every message the library handed over (redeliveries
        # included), and every message acknowledged.
        self.deliveries = 0
        self.acked = 0
        self._refuse_missing()

    # -- consuming -------------------------------------------------------------------------

    def _stream(self) -> Any:
        if self._future is None:
            # One callback thread is enough (it only enqueues) and keeps the pump's GIL share.
            scheduler = self._pubsub.subscriber.scheduler.ThreadScheduler(executor=_single_thread_executor())
            self._future = self._subscriber.subscribe(
                self.subscription_path, self._receive, flow_control=self.flow_control, scheduler=scheduler
            )
        return self._future

    def _receive(self, message: Any) -> None:
        """The library's callback (its thread): hand the message over to the pump."""
        self.deliveries += 1  # one callback thread: no race
        if not self._handover.put(message):
            message.nack()

    def poll(self, max_messages: int, timeout: float) -> Polled:
        future = self._stream()
        if future.done():
            raise RuntimeError(self._stream_failure(future))
        if self._paused:
            self._closing.wait(timeout)
            return Polled()
        held = self._handover.take(max_messages, timeout)
        if held is None:
            return Polled()
        origin = self._origin
        messages = [Message(item.data, origin + item.message_id) for item in held.messages]
        return Polled(messages, held)

    def commit(self, positions: Sequence[Any], wait: bool = False) -> None:
        """Acknowledge every message of ``positions``; Acknowledge is always synchronous here, so
        ``wait`` changes nothing. A failed call is logged: Pub/Sub redelivers those messages and
        the idempotent writes absorb them."""
        del wait
        done: list[Any] = []
        for held in positions:
            done.extend(held.messages)
        if not done:
            return
        try:
            self._call_in_chunks(done, self._acknowledge)
            self.acked += len(done)
        except self._exceptions.GoogleAPIError as error:
            log.warning(
                "pubsub: acknowledging %d messages failed (they will be redelivered): %s", len(done), error
            )
        for message in done:
            message.drop()  # out of lease management: flow control lets more in
        self._handover.settle(positions)

    def _acknowledge(self, ack_ids: list[str]) -> None:
        self._subscriber.acknowledge(
            subscription=self.subscription_path, ack_ids=ack_ids, timeout=ACK_TIMEOUT_S
        )

    def _nack(self, ack_ids: list[str]) -> None:
        self._subscriber.modify_ack_deadline(
            subscription=self.subscription_path,
            ack_ids=ack_ids,
            ack_deadline_seconds=0,
            timeout=ACK_TIMEOUT_S,
        )

    @staticmethod
    def _call_in_chunks(messages: Sequence[Any], call: Any) -> None:
        ack_ids = [message.ack_id for message in messages]
        for start in range(0, len(ack_ids), ACK_IDS_PER_CALL):
            call(ack_ids[start : start + ACK_IDS_PER_CALL])

    def pause(self) -> None:
        """Stop handing out messages; the library keeps the ones it holds leased, and its flow
        control stops the stream once the hand-over queue is full."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def _stream_failure(self, future: Any) -> str:
        error = future.exception() if not future.cancelled() else None
        if isinstance(error, self._exceptions.NotFound):
            return f"Pub/Sub subscription {self.subscription_path} does not exist"
        if isinstance(error, self._exceptions.PermissionDenied):
            return f"not allowed to pull from Pub/Sub subscription {self.subscription_path}: {error}"
        return f"streaming pull from {self.subscription_path} stopped: {error or 'cancelled'}"

    # -- producing (POST /v1/events) -------------------------------------------------------

    def _publisher_instance(self) -> Any:
        if self._publisher is None:
            from google.api_core import retry

            transient = retry.if_exception_type(
                self._exceptions.Aborted,
                self._exceptions.Cancelled,
                self._exceptions.DeadlineExceeded,
                self._exceptions.InternalServerError,
                self._exceptions.ResourceExhausted,
                self._exceptions.ServiceUnavailable,
                self._exceptions.Unknown,
            )
            # The library's default keeps retrying a publish for 10 minutes; nobody waits that long.
            options = self._pubsub.types.PublisherOptions(
                flow_control=self._publish_flow,
                retry=retry.Retry(predicate=transient, initial=0.1, maximum=2.0, timeout=PUBLISH_TIMEOUT_S),
                timeout=PUBLISH_TIMEOUT_S,
            )
            self._publisher = self._pubsub.PublisherClient(publisher_options=options)
        return self._publisher

    async def publish(self, messages: Sequence[Message]) -> None:
        publisher = self._publisher_instance()
        futures = []
        for message in messages:
            try:
                futures.append(asyncio.wrap_future(publisher.publish(self.topic_path, message.raw)))
            except self._pubsub.publisher.exceptions.FlowControlLimitError as error:
                raise BusFull(f"the Pub/Sub publisher holds too much unconfirmed input: {error}") from None
        try:
            await asyncio.wait_for(asyncio.gather(*futures), PUBLISH_TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError(f"Pub/Sub did not confirm within {PUBLISH_TIMEOUT_S:.0f}s") from None
        except self._exceptions.NotFound:
            raise RuntimeError(f"Pub/Sub topic {self.topic_path} does not exist") from None

    # -- readiness and shutdown ------------------------------------------------------------

    def _refuse_missing(self) -> None:
        """At start: a topic or subscription that does not exist is a configuration error; any
        other answer (unreachable, not allowed to look) is left to the stream and readiness."""
        try:
            self._check_exists()
        except Missing as missing:
            raise ConfigError(str(missing)) from None
        except Exception as error:
            log.warning("pubsub: cannot check the topic and subscription now: %s", error)

    def _check_exists(self) -> None:
        check_exists(
            self._exceptions, self.subscription_path, self._get_subscription, self.topic_path, self._get_topic
        )

    def _get_subscription(self, path: str) -> None:
        self._subscriber.get_subscription(subscription=path, retry=None, timeout=PING_TIMEOUT_S)

    def _get_topic(self, path: str) -> None:
        self._publisher_instance().get_topic(topic=path, retry=None, timeout=PING_TIMEOUT_S)

    def ping(self) -> None:
        if self._future is not None and self._future.done():
            raise BusProblem(self._stream_failure(self._future))
        try:
            self._check_exists()
        except Missing as missing:
            raise BusProblem(str(missing)) from None

    def close(self) -> None:
        """Stop the stream, then nack everything received and not committed: it comes back at once
        instead of after its lease runs out."""
        self._closing.set()
        if self._future is not None:
            self._future.cancel()
            try:
                self._future.result(timeout=ACK_TIMEOUT_S)
            except Exception as error:  # the stream's own failure was reported by poll / ping
                log.debug("pubsub: stream ended with %s", error)
        pending = self._handover.release()
        if pending:
            try:
                self._call_in_chunks(pending, self._nack)
                log.info("pubsub: nacked %d messages received but not committed", len(pending))
            except self._exceptions.GoogleAPIError as error:
                log.warning(
                    "pubsub: nacking %d messages failed (redelivered after their lease): %s",
                    len(pending),
                    error,
                )
        if self._publisher is not None:
            self._publisher.stop()  # sends what is batched
        self._subscriber.close()


def _single_thread_executor() -> Any:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="pubsub-callback")
