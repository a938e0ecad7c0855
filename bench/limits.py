"""The rate-limits scenario: thousands in flight, every card moving on every poll, then a burst of
failures, against a Slack fake that limits every method per workspace by its tier (and chat.postMessage
per channel). Outcomes must arrive as fast as without the card traffic; cards end on their final state."""

from __future__ import annotations

import math
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench import harness
from bench.harness import World
from bench.scenarios import FAILURE_TEXT, Report, Row, percentile, say
from bot.sandbox.slack_fake import DEFAULT_TIERS

# Methods whose calls per minute the scenario reports against their tier.
_WATCHED = ("chat.postMessage", "chat.update", "views.publish", "conversations.open", "chat.getPermalink")
_OUTCOME_SLACK = 15.0
_CARDS_FINAL_SECONDS = 300.0


def limits(
    world: World,
    report: Report,
    *,
    db: str,
    n: int,
    channels: int,
    failing: int,
    poll_interval: float,
    processes: int = 1,
    cards_timeout: float = 780.0,
) -> None:
    """`n` in flight over `channels` channels, progress moving on every poll; then `failing` fail at once."""
    fake = world.fake
    fake.reset()
    fake.enforce_rate_limits = True
    world.emulator.configure(latency_ms=50)
    # A percent of progress every 0.95 poll intervals: every poll sees it move. Training then ends after
    # ~94 intervals (~16 min at 10 s), after everything here is measured.
    training = 99 * poll_interval * 0.95
    saved = world.emulator.default_training_seconds
    world.emulator.configure(default_training_seconds=training)
    say(f"creating {n} replicas, progress moving every poll")
    try:
        replicas = harness.create_replicas(world, n)
    finally:
        world.emulator.configure(default_training_seconds=saved)
    names = [f"C{i:05d}LIM" for i in range(channels)]
    chans = [names[i % channels] for i in range(n)]
    cards = [fake.add_message(chans[i], f"card {i}", user=fake.bot_user_id)["ts"] for i in range(n)]
    label = "limits" if processes == 1 else f"limits_{processes}_processes"
    details: dict[str, Any] = {"n": n, "channels": channels, "failing": failing, "processes": processes}
    report.details[label] = details
    with harness.database(db, world.workdir) as url, harness.engine_for(url) as engine:
        ids = harness.insert_training(
            engine, replicas, channels=chans, card_ts=cards, spread=timedelta(seconds=poll_interval)
        )
        env = {"POLL_INTERVAL_SECONDS": str(poll_interval), "POLL_MAX_INTERVAL_SECONDS": str(poll_interval)}
        apps = [harness.app_process(world, url, f"{label}-app-{k}", **env) for k in range(processes)]
        with ExitStack() as running:
            for app in apps:
                running.enter_context(app)
            began = time.time()
            # Steady state: every card has moved a few times and chat.update is saturated.
            time.sleep(3 * poll_interval)
            card_updates_before = sum(1 for _ in fake.call_times("chat.update"))
            say(f"failing {failing} of {n} at once")
            t0 = time.time()
            for replica_id in replicas[:failing]:
                world.emulator.set_replica(replica_id, status="error", error_message=FAILURE_TEXT)
            deadline = time.monotonic() + poll_interval + 120
            while time.monotonic() < deadline and _failures_sent(engine) < failing:
                time.sleep(0.5)
            say("waiting for the failed cards to show it")
            deadline = time.monotonic() + cards_timeout
            while time.monotonic() < deadline and _final_cards(engine) < failing:
                time.sleep(2)
            ended = time.time()
            app_rss = max(app.rss()[1] for app in apps)
        finished, card_final = _times(engine)
        dead = _dead(engine)
    posts: dict[int, float] = {}
    duplicates = 0
    still_training = 0
    for request_id, channel, ts in zip(ids[:failing], chans[:failing], cards[:failing], strict=True):
        thread = [m for m in fake.thread(channel, ts) if m["user"] == fake.bot_user_id]
        if thread:
            posts[request_id] = thread[0]["time"]
        duplicates += max(0, len(thread) - 1)
    for channel in names:
        for message in fake.messages(channel):
            if message["ts"] in set(cards[:failing]) and "failed" not in message["text"].lower():
                still_training += 1
    # From the poll that saw the failure (finished_at is written by that poll) to the post in the thread.
    latency = [posts[r] - finished[r] for r in posts if r in finished]
    from_t0 = [posts[r] - t0 for r in posts]
    last_outcome = max(posts.values()) if posts else math.nan
    final_after = [card_final[r] - last_outcome for r in card_final]
    cards_done = max(card_final.values()) - last_outcome if len(card_final) == failing else math.inf
    limited = fake.limited_calls()
    assert isinstance(limited, dict)
    per_minute = {m: _busiest_minute(fake.call_times(m), began, ended) for m in _WATCHED}
    details.update(
        posted=len(posts),
        latency_max_s=max(latency) if latency else math.nan,
        latency_p50_s=percentile(latency, 50),
        from_t0_max_s=max(from_t0) if from_t0 else math.nan,
        duplicates=duplicates,
        dead=dead,
        rate_limited_429s=limited,
        busiest_minute=per_minute,
        card_updates_before_failing=card_updates_before,
        cards_final=len(card_final),
        cards_final_after_last_outcome_max_s=cards_done,
        cards_final_p50_s=percentile(final_after, 50),
        cards_still_training=still_training,
        peak_rss_mb=app_rss,
    )
    report.check(len(posts) == failing, f"limits: {failing - len(posts)} of {failing} explanations missing")
    report.check(duplicates == 0, f"limits: {duplicates} explanations posted twice")
    report.check(dead == 0, f"limits: {dead} outbox rows gave up")
    bound = poll_interval + _OUTCOME_SLACK
    worst = details["latency_max_s"]
    where = f"{n} in flight / {channels} channels, {failing} fail" + (
        f", {processes} processes (PostgreSQL)" if processes > 1 else ""
    )
    total_429 = sum(limited.values())
    report.add(
        Row(
            f"Limits: {where}: explanation after the poll that saw it",
            f"all ≤ interval + 15 s = {bound:.0f} s",
            f"{len(posts)}/{failing} posted, slowest {worst:.1f} s, p50 {details['latency_p50_s']:.1f} s; "
            f"{duplicates} twice, {dead} dead",
            f"{worst / bound:.2f}×",
            ok=len(posts) == failing and worst <= bound and duplicates == 0 and dead == 0,
        )
    )
    report.add(
        Row(
            f"Limits: {where}: 429s received",
            "a handful",
            ", ".join(f"{m} {c}" for m, c in sorted(limited.items())) or "none",
            ok=total_429 <= 10,
        )
    )
    update_rate = DEFAULT_TIERS["chat.update"][0]
    floor = failing / update_rate * 60
    report.add(
        Row(
            f"Limits: {where}: every failed card final, after the last outcome",
            f"≤ 5 min (Tier 3 floor: {failing} edits at {update_rate:.0f}/min = {floor / 60:.1f} min)",
            f"{len(card_final)}/{failing} final, the last after {cards_done:.0f} s "
            f"(p50 {details['cards_final_p50_s']:.0f} s); {still_training} still showing training",
            f"{cards_done / _CARDS_FINAL_SECONDS:.2f}×",
            ok=cards_done <= _CARDS_FINAL_SECONDS and still_training == 0,
        )
    )
    within = all(
        per_minute[m] <= DEFAULT_TIERS[m][0] + DEFAULT_TIERS[m][1] for m in per_minute if m in DEFAULT_TIERS
    )
    report.add(
        Row(
            f"Limits: {where}: calls in the busiest minute, per method",
            "within the tier (+ its burst)",
            ", ".join(f"{m} {c}" for m, c in per_minute.items()),
            ok=within,
        )
    )


def _busiest_minute(times: list[tuple[float, int]], began: float, ended: float) -> int:
    """The most calls that reached the fake in any 60 s window (sliding, by call)."""
    stamps = sorted(t for t, _ in times if began <= t <= ended)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamps[start] < stamp - 60:
            start += 1
        best = max(best, end - start + 1)
    return best


def _failures_sent(engine: Any) -> int:
    statement = sa.text("SELECT count(*) FROM outbox_message WHERE kind = 'failure' AND status != 'pending'")
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def _final_cards(engine: Any) -> int:
    statement = sa.text(
        "SELECT count(*) FROM outbox_message o JOIN replica_request r ON r.id = o.request_id "
        "WHERE o.kind = 'card' AND r.status = 'failed' AND o.status = 'sent' "
        "AND o.delivered_version = o.version AND o.sent_at >= r.finished_at"
    )
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def _times(engine: Any) -> tuple[dict[int, float], dict[int, float]]:
    statement = sa.text(
        "SELECT r.id, r.finished_at, o.sent_at, o.status, o.delivered_version, o.version "
        "FROM replica_request r JOIN outbox_message o ON o.request_id = r.id AND o.kind = 'card' "
        "WHERE r.status = 'failed'"
    )
    finished: dict[int, float] = {}
    final: dict[int, float] = {}
    with engine.connect() as conn:
        for request_id, finished_at, sent_at, status, delivered, version in conn.execute(statement):
            finished_at, sent_at = _epoch(finished_at), _epoch(sent_at)
            if finished_at is None:
                continue
            finished[request_id] = finished_at
            if status == "sent" and delivered == version and sent_at is not None and sent_at >= finished_at:
                final[request_id] = sent_at
    return finished, final


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return float((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def _dead(engine: Any) -> int:
    with engine.connect() as conn:
        dead = conn.execute(sa.text("SELECT count(*) FROM outbox_message WHERE status='dead'"))
        return int(dead.scalar_one())
