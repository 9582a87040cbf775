"""Prometheus metrics of one service instance (its own registry, so tests can run several); the only
counters the service keeps (the replay summary reads them too).

Counters are bumped once per batch or request, not per event: the hot path stays free of locks.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BATCH_SIZE_BUCKETS = (1, 10, 100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.accepted = Counter(
            "ingest_events_accepted", "Valid events taken in, before dedup.", ["origin"], registry=registry
        )
        self.rejected = Counter(
            "ingest_events_rejected",
            "Inputs sent to the dead-letter table, by rule.",
            ["rule"],
            registry=registry,
        )
        self.written = Counter(
            "ingest_rows_written",
            "Rows newly inserted, per table (duplicates excluded).",
            ["table"],
            registry=registry,
        )
        self.batch_size = Histogram(
            "ingest_batch_size", "Inputs per written batch.", buckets=BATCH_SIZE_BUCKETS, registry=registry
        )
        self.flush_seconds = Histogram(
            "ingest_flush_seconds",
            "Time to write one batch, retries included.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "ingest_write_retries", "Warehouse writes retried after an error.", registry=registry
        )
        self.buffer_bytes = Gauge(
            "ingest_buffer_bytes",
            "Raw bytes taken in and not yet committed to the warehouse.",
            registry=registry,
        )
        self.buffer_events = Gauge(
            "ingest_buffer_events",
            "Inputs taken in and not yet committed to the warehouse.",
            registry=registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def counts(self, metric: str, label: str) -> dict[str, int]:
        """The current values of a labelled counter by label value, e.g. rows written per table."""
        return {
            sample.labels[label]: int(sample.value)
            for family in self.registry.collect()
            if family.name == metric
            for sample in family.samples
            if sample.name == f"{metric}_total"
        }

    def total(self, metric: str) -> int:
        """The current value of a counter, summed over its labels."""
        return sum(
            int(sample.value)
            for family in self.registry.collect()
            if family.name == metric
            for sample in family.samples
            if sample.name == f"{metric}_total"
        )
