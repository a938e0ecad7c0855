"""The benchmarks of issue 5 at a small size, checked for correctness, never for speed.

`python -m bench` measures; this only proves every scenario still works end to end: each acked request
reaches Tavus, each in-flight request is polled exactly once per sweep (also through a 429 with Retry-After),
and each failure is explained once in its thread while Slack rate-limits the channels, and every method by
its tier.
"""

from __future__ import annotations

import pytest

from bench import harness, limits, operations, scenarios
from bench.scenarios import Report

pytestmark = pytest.mark.e2e


def test_small_benchmarks_are_correct() -> None:
    report = Report()
    with harness.world() as world:
        scenarios.ack(world, report, db="sqlite", count=20, bursts=1, pause=0)
        # Two bursts: the second must not repeat the first one's events (the app would drop them).
        scenarios.ack(world, report, db="sqlite", count=10, bursts=2, pause=0, kind="mention")
        scenarios.sweep(
            world,
            report,
            db="sqlite",
            n=200,
            latency_ms=20,
            concurrencies=[None],
            sequential_sample=0,
            history=0,
        )
        scenarios.reporting(world, report, db="sqlite", n=40, channels=8, poll_interval=2)
        # Every method limited by its tier: 10 of 40 fail while every card moves on every poll.
        limits.limits(
            world, report, db="sqlite", n=40, channels=8, failing=10, poll_interval=2, cards_timeout=60
        )

    assert report.problems == []
    ack = report.details["ack"]
    assert ack["app"]["ok"] == 20 and ack["reached_tavus"] == 20
    mentions = report.details["ack_mention"]
    assert mentions["app"]["ok"] == 20 and mentions["reached_tavus"] == 20
    sweep = report.details["sweep"]
    assert sweep["runs"]["default"]["db_polled"] == 200
    assert sweep["runs"]["default"]["polled_twice"] == 0
    assert sweep["retry_after"]["db_polled"] == 200
    assert sweep["footprint"]["polled"] == 200
    reporting = report.details["reporting"]
    assert reporting["posted"] == 40 and reporting["duplicates"] == 0 and reporting["dead"] == 0
    limited = report.details["limits"]
    assert limited["posted"] == 10 and limited["duplicates"] == 0 and limited["dead"] == 0
    assert limited["cards_final"] == 10 and limited["cards_still_training"] == 0


def test_small_operations_benchmarks_are_correct() -> None:
    """The scrape counts every row; a rolling restart of three processes loses and doubles nothing."""
    report = Report()
    with harness.world() as world:
        operations.scrape(world, report, db="sqlite", finished=300, active=30, scrapes=5)
        operations.rolling_restart(world, report, n=24, channels=6, poll_interval=2, outcome_seconds=12)
    assert report.problems == []
    restart = report.details["rolling_restart"]
    assert restart["lost"] == 0 and restart["doubled"] == 0
    assert all(stop["code"] == 0 for stop in restart["stops"])
