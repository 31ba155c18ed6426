"""The chassis' own Prometheus metrics (labelled by service), shared by every service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter(
    "qlvb_consumer_messages_total",
    "Messages a consumer finished with, by outcome (processed, duplicate, dead_lettered).",
    ["service", "group", "topic", "outcome"],
)
RETRIES = Counter(
    "qlvb_consumer_retries_total",
    "Handler attempts that failed and were retried, by kind (transient, failure).",
    ["service", "group", "topic", "kind"],
)
BATCH_SIZE = Histogram(
    "qlvb_consumer_batch_size",
    "Records per fetched batch a consumer applied (one transaction per batch when all succeed).",
    ["service", "group", "topic"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
BATCH_SECONDS = Histogram(
    "qlvb_consumer_batch_seconds",
    "Time to finish a fetched batch (effects committed or dead-lettered).",
    ["service", "group", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DEAD_LETTERED = Counter(
    "qlvb_dlq_messages_total",
    "Messages written to a dead-letter topic, by reason (invalid, poison).",
    ["service", "group", "topic", "reason"],
)
OUTBOX_PUBLISHED = Counter(
    "qlvb_outbox_published_total", "Outbox rows published to the broker.", ["service", "topic"]
)
OUTBOX_ERRORS = Counter(
    "qlvb_outbox_publish_errors_total", "Failed outbox publish attempts.", ["service"]
)
OUTBOX_BACKLOG = Gauge(
    "qlvb_outbox_backlog", "Unpublished outbox rows seen by the last relay pass.", ["service"]
)
OUTBOX_LAG = Histogram(
    "qlvb_outbox_lag_seconds",
    "Time from the effect's commit to the event's publication.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
