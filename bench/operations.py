"""Running it like production software, measured: what a `/metrics` scrape costs beside a large history,
and a rolling restart of three processes on PostgreSQL while outcomes keep coming (delay, lost, doubled)."""

from __future__ import annotations

import signal
import statistics
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import httpx

from bench import harness
from bench.harness import Child, World
from bench.scenarios import FAILURE_TEXT, Report, Row, failures_sent, percentile, say

SCRAPE_TARGET_MS = 50.0


def scrape(world: World, report: Report, *, db: str, finished: int, active: int, scrapes: int = 50) -> None:
    """`/metrics` of a running app beside `finished` finished and `active` in-flight requests."""
    details: dict[str, Any] = {"db": db, "finished": finished, "active": active}
    report.details[f"scrape_{db}"] = details
    with harness.database(db, world.workdir) as url, harness.engine_for(url) as engine:
        say(f"{finished} finished and {active} in-flight requests ({db})")
        harness.insert_history(engine, finished)
        # In flight, but not due: the app only counts them.
        ids = harness.insert_training(engine, [f"rscrape{i:07d}" for i in range(active)])
        harness.park(engine, ids)
        app = harness.app_process(world, url, f"scrape-app-{db}")
        with app, httpx.Client(base_url=app.url, timeout=10) as client:
            for _ in range(5):
                client.get("/metrics")
            times = []
            for _ in range(scrapes):
                began = time.perf_counter()
                response = client.get("/metrics")
                times.append((time.perf_counter() - began) * 1000)
                report.check(response.status_code == 200, f"/metrics answered {response.status_code}")
            text = response.text
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("replica_bot_requests{")
    )
    report.check(
        counted == finished + active, f"/metrics counted {counted} requests, not {finished + active}"
    )
    details.update(median_ms=statistics.median(times), p95_ms=percentile(times, 95), max_ms=max(times))
    report.add(
        Row(
            f"/metrics scrape, {finished:,} finished + {active:,} active ({db})",
            f"< {SCRAPE_TARGET_MS:.0f} ms",
            f"median {details['median_ms']:.1f} ms, p95 {details['p95_ms']:.1f} ms",
            ok=details["p95_ms"] < SCRAPE_TARGET_MS,
        )
    )


def rolling_restart(
    world: World,
    report: Report,
    *,
    n: int,
    channels: int,
    poll_interval: float,
    processes: int = 3,
    grace: float = 10.0,
    outcome_seconds: float = 60.0,
) -> None:
    """`processes` apps share PostgreSQL; `n` replicas fail one after another over `outcome_seconds`
    while each app in turn is stopped (SIGTERM) and replaced. Every failure must be posted once, within
    the poll interval + 5 s of Tavus reporting it."""
    fake = world.fake
    fake.reset()
    fake.enforce_rate_limits = True
    world.emulator.configure(latency_ms=50)
    say(f"creating {n} replicas for the rolling restart")
    replicas = harness.create_replicas(world, n)
    names = [f"C{i:05d}RST" for i in range(channels)]
    chans = [names[i % channels] for i in range(n)]
    cards = [fake.add_message(chans[i], f"card {i}", user=fake.bot_user_id)["ts"] for i in range(n)]
    details: dict[str, Any] = {"n": n, "processes": processes, "poll_interval": poll_interval}
    report.details["rolling_restart"] = details
    env = {
        "POLL_INTERVAL_SECONDS": str(poll_interval),
        "POLL_MAX_INTERVAL_SECONDS": str(poll_interval),
        "SHUTDOWN_GRACE_SECONDS": str(grace),
    }
    with harness.database("postgres", world.workdir) as url, harness.engine_for(url) as engine:
        harness.insert_training(
            engine, replicas, channels=chans, card_ts=cards, spread=timedelta(seconds=poll_interval)
        )
        apps = [harness.app_process(world, url, f"restart-app-{k}", **env) for k in range(processes)]
        stops: list[dict[str, float]] = []
        failed_at: dict[int, float] = {}
        with ExitStack() as running:
            for app in apps:
                running.enter_context(app)
            time.sleep(poll_interval)  # steady state first

            def fail_them() -> None:
                for i, replica_id in enumerate(replicas):
                    world.emulator.set_replica(replica_id, status="error", error_message=FAILURE_TEXT)
                    failed_at[i] = time.time()
                    time.sleep(outcome_seconds / n)

            say(f"{n} failures over {outcome_seconds:.0f} s; restarting each process in turn")
            load = threading.Thread(target=fail_them, daemon=True)
            load.start()
            time.sleep(outcome_seconds / (processes + 1))
            for k in range(processes):
                stops.append(_stop(apps[k], grace))
                apps[k] = running.enter_context(
                    harness.app_process(world, url, f"restart-app-{k}-new", **env)
                )
                time.sleep(max(0.0, outcome_seconds / (processes + 1) - stops[-1]["exit_s"]))
            load.join()
            deadline = time.monotonic() + poll_interval + 60
            # Watch the outbox, not the Slack fake: reading the fake takes its lock from the apps' calls.
            while time.monotonic() < deadline and failures_sent(engine) < n:
                time.sleep(0.5)
            time.sleep(poll_interval)  # anything posted twice would show up now
    delays, lost, doubled = [], 0, 0
    for i, (channel, ts) in enumerate(zip(chans, cards, strict=True)):
        posts = [m for m in fake.thread(channel, ts) if m["user"] == fake.bot_user_id]
        if not posts:
            lost += 1
            continue
        doubled += len(posts) - 1
        delays.append(posts[0]["time"] - failed_at[i])
    details.update(
        stops=stops,
        lost=lost,
        doubled=doubled,
        max_delay_s=max(delays, default=float("nan")),
        p95_delay_s=percentile(delays, 95),
        median_delay_s=statistics.median(delays) if delays else float("nan"),
    )
    target = poll_interval + 5
    report.add(
        Row(
            f"Rolling restart of {processes} processes, {n} outcomes: delay",
            f"≤ {target:.0f} s (poll interval + 5 s)",
            f"median {details['median_delay_s']:.1f} s, p95 {details['p95_delay_s']:.1f} s, "
            f"max {details['max_delay_s']:.1f} s",
            ok=details["max_delay_s"] <= target,
        )
    )
    report.add(
        Row(
            "Rolling restart: outcomes lost / doubled",
            "0 / 0",
            f"{lost} / {doubled}",
            ok=not (lost or doubled),
        )
    )
    slowest = max(stop["exit_s"] for stop in stops)
    report.add(
        Row(
            "Rolling restart: each stop exits 0 within the grace",
            f"0, ≤ {grace:.0f} s",
            f"{sorted({int(s['code']) for s in stops})}, ≤ {slowest:.1f} s",
            ok=all(s["code"] == 0 for s in stops) and slowest <= grace,
        )
    )


def _stop(app: Child, grace: float) -> dict[str, float]:
    assert app.proc is not None
    began = time.monotonic()
    app.proc.send_signal(signal.SIGTERM)
    code = app.proc.wait(grace + 10)
    return {"code": float(code), "exit_s": time.monotonic() - began}
