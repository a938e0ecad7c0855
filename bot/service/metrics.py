"""`/metrics`: what an operator graphs, in Prometheus' text format.

Counters and histograms are this process's (sum them across processes); the request and outbox gauges
are read from the database at scrape time, so every process reports the same figures for them. Labels
take only a few known values each: never an id, a name or a URL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storage.db import DatabaseError, Engine
from storage.models import OutboxKind, RequestStatus
from storage.repository import census

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The `_created` series double every counter for a timestamp nobody graphs.
disable_created_metrics()

# Slack wants an ack within 3 s; the buckets are finer below that.
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
# From Tavus' answer to the post in the thread: seconds normally, minutes when Slack holds posts back.
OUTCOME_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
SLACK_OUTCOMES = ("ok", "ratelimited", "error")


class Metrics:
    """The registry of one process, and the hooks the composition root hands to the parts it counts."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self._slack_calls = Counter(
            "replica_bot_slack_calls",
            "Slack Web API calls, by method and outcome (ok, ratelimited, error).",
            ["method", "outcome"],
            registry=self.registry,
        )
        self._tavus_calls = Counter(
            "replica_bot_tavus_calls",
            "HTTP calls to Tavus, by endpoint (ids left out) and HTTP status (`error`: no answer).",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self._ack = Histogram(
            "replica_bot_ack_seconds",
            "From a Slack request's arrival to the ack.",
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self._outcome_delay = Histogram(
            "replica_bot_outcome_delay_seconds",
            "From the moment the bot learns an outcome from Tavus to its post in the thread.",
            buckets=OUTCOME_BUCKETS,
            registry=self.registry,
        )
        self._image_checks = Counter(
            "replica_bot_image_check",
            "Photo checks before submitting, by source (offline, tavus) and verdict.",
            ["source", "verdict"],
            registry=self.registry,
        )
        self.registry.register(_FromTheDatabase(engine))

    def slack_call(self, method: str, outcome: str) -> None:
        self._slack_calls.labels(method, outcome if outcome in SLACK_OUTCOMES else "error").inc()

    def tavus_call(self, endpoint: str, status: str) -> None:
        self._tavus_calls.labels(endpoint, status).inc()

    def acked(self, seconds: float) -> None:
        self._ack.observe(seconds)

    def outcome_posted(self, seconds: float) -> None:
        self._outcome_delay.observe(seconds)

    def image_checked(self, source: str, verdict: str) -> None:
        self._image_checks.labels(source, verdict).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _FromTheDatabase(Collector):
    """The gauges read at scrape time. Every status and kind is reported, 0 included, so a series never
    vanishes; if the database cannot answer, they are left out of that scrape (and it is logged)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        try:
            statuses = census.requests_by_status(self._engine)
            waiting = census.waiting_for_slack(self._engine)
        except DatabaseError as exc:
            log.warning("/metrics without the database gauges: %s", type(exc).__name__)
            return
        requests = GaugeMetricFamily(
            "replica_bot_requests", "Replica requests in each lifecycle status.", labels=["status"]
        )
        for status in RequestStatus:
            requests.add_metric([status.value], statuses.get(status.value, 0))
        yield requests
        pending = GaugeMetricFamily(
            "replica_bot_outbox_pending", "Notifications waiting to reach Slack, by kind.", labels=["kind"]
        )
        for kind in OutboxKind:
            pending.add_metric([kind.value], waiting.by_kind.get(kind.value, 0))
        yield pending
        yield GaugeMetricFamily(
            "replica_bot_outbox_oldest_seconds",
            "How long the oldest notification not yet in Slack has waited (0 when none waits).",
            value=waiting.oldest_seconds(),
        )

    def describe(self) -> Iterator[Metric]:
        # Registering must not query the database.
        return iter(())
