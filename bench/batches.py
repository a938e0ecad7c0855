"""A 500-row batch against the emulator, with Tavus' image check at a realistic latency: how long until it
is checked (against the ideal rows × latency / concurrency), the acks of other people meanwhile, chat.update
calls per minute (within Tier 3); then, with all its rows failing at once, the slowest explanation in its
thread against the poll interval + 15 s. On SQLite with one process, on PostgreSQL with three."""

from __future__ import annotations

import json
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench import harness
from bench.harness import World
from bench.scenarios import Report, Row, percentile, say
from bot.domain.catalogue import Catalogue
from bot.sandbox.slack_fake import SlackSender
from bot.slack.ids import BATCH_SUBMIT_ACTION

CHANNEL = "C0BATCH"
REQUESTER = "U0BATCH"
# Tavus' failures, three causes: the thread tells each cause in one post (per hundred rows).
_CAUSES = [entry.tavus_message for entry in list(Catalogue().entries())[2:5]]
# Tier 3 (chat.update): about 50 a minute, and the burst Slack tolerates (the Slack fake's, as Slack's).
_UPDATE_TIER = 50
_UPDATE_BURST = 10
_EXPLAIN_SLACK = 15.0


def batch(
    world: World,
    report: Report,
    *,
    db: str,
    rows: int,
    latency: float,
    concurrency: int,
    processes: int,
    poll_interval: float,
) -> None:
    fake = world.fake
    fake.reset()
    fake.enforce_rate_limits = True
    world.emulator.configure(latency_ms=50)
    world.emulator.validation.set_latency(latency)
    label = f"batch_{db}_{processes}"
    details: dict[str, Any] = {"rows": rows, "latency_s": latency, "concurrency": concurrency,
                               "processes": processes, "poll_interval": poll_interval}
    report.details[label] = details
    env = {
        "BATCH_CONCURRENCY": str(concurrency),
        "POLL_INTERVAL_SECONDS": str(poll_interval),
        "POLL_EARLY_INTERVAL_SECONDS": str(poll_interval),
        "POLL_MAX_INTERVAL_SECONDS": str(poll_interval),
    }
    where = f"{db}, {processes} process{'es' if processes > 1 else ''}"
    with ExitStack() as running:
        url = running.enter_context(harness.database(db, world.workdir))
        engine = running.enter_context(harness.engine_for(url))
        apps = [
            running.enter_context(harness.app_process(world, url, f"batch-{db}-{k}", **env))
            for k in range(processes)
        ]
        csv = "name,photo,voice\n" + "".join(f"Member {n:03d},{world.photo_url},anna\n" for n in range(rows))
        shared = fake.add_file(
            csv.encode(), name="team.csv", mimetype="text/csv", filetype="csv", user=REQUESTER
        )
        message = fake.add_message(CHANNEL, "<@UBOT> the team", user=REQUESTER, files=[shared])
        event = {"type": "app_mention", "user": REQUESTER, "text": message["text"], "ts": message["ts"],
                 "channel": CHANNEL, "event_ts": message["ts"], "files": [shared]}
        say(f"a {rows}-row batch, Tavus' check taking {latency} s ({where})")
        began = time.time()
        SlackSender(apps[0].url, harness.SIGNING_SECRET).event(event)
        acks: list[dict[str, Any]] = []
        ideal = rows * latency / (concurrency * processes)
        loader = threading.Thread(target=_acks_meanwhile, args=(world, apps[-1].url, ideal, acks))
        loader.start()
        batch_id = _wait(engine, "SELECT id FROM batch WHERE status = 'checked'", timeout=ideal * 4 + 120)
        checked_s = time.time() - began
        loader.join()
        updates = [t for t, _ in fake.call_times("chat.update") if began <= t <= began + checked_s]
        limited = fake.limited_calls("chat.update")
        details.update(checked_s=checked_s, ideal_s=ideal, chat_updates=len(updates),
                       max_in_flight=world.emulator.validation.max_in_flight)
        say(f"checked in {checked_s:.1f} s (ideal {ideal:.1f} s); submitting")
        click = {"type": "block_actions", "user": {"id": REQUESTER}, "channel": {"id": CHANNEL},
                 "trigger_id": "t", "actions": [{"action_id": BATCH_SUBMIT_ACTION, "value": str(batch_id)}]}
        submitted = time.time()
        SlackSender(apps[-1].url, harness.SIGNING_SECRET).interaction(click)
        training = f"SELECT count(*) FROM replica_request WHERE batch_id = {batch_id} AND status = 'training'"
        _wait(engine, training, until=rows, timeout=rows + 120)
        details["submitted_s"] = time.time() - submitted
        say(f"{rows} training after {details['submitted_s']:.1f} s; failing them all at once")
        with engine.connect() as conn:
            replicas = [r[0] for r in conn.execute(
                sa.text(f"SELECT replica_id FROM replica_request WHERE batch_id = {batch_id}"))]
        failed_at = time.time()
        for n, replica_id in enumerate(replicas):
            world.emulator.set_replica(replica_id, status="error", error_message=_CAUSES[n % len(_CAUSES)])
        told = (f"SELECT count(*) FROM outbox_message WHERE batch_id = {batch_id} AND kind = 'failure' "
                "AND status != 'pending'")
        _wait(engine, told, until=rows, timeout=poll_interval + 180)
        with engine.connect() as conn:
            failures = f"FROM outbox_message WHERE batch_id = {batch_id} AND kind = 'failure'"
            sent = conn.execute(sa.text(f"SELECT sent_at, slack_ts {failures}")).all()
        posts = {ts for _, ts in sent}
        slowest = max(_epoch(s) for s, _ in sent) - failed_at
        details.update(slowest_explanation_s=slowest, failure_posts=len(posts))
        posted = [m for m in fake.thread(CHANNEL, message["ts"]) if m["user"] == fake.bot_user_id]
        report.check(len(replicas) == rows, f"batch ({where}): {len(replicas)} of {rows} rows reached Tavus")
        report.check(len(posted) >= len(posts), f"batch ({where}): failure posts missing in the thread")
    per_minute = _busiest_minute(updates)
    ack_ms = [ms for out in acks for ms in out["ms"]]
    details.update(chat_update_busiest_minute=per_minute, acks=len(ack_ms), ack_p99_ms=percentile(ack_ms, 99))
    report.add(Row(f"Batch of {rows}: checked ({where})", f"≈ ideal {ideal:.0f} s",
                   f"{checked_s:.0f} s, ≤ {details['max_in_flight']} checks at once at Tavus",
                   f"{checked_s / ideal:.2f}×", ok=checked_s < ideal * 1.5 + 10))
    report.add(Row(f"Batch of {rows}: acks meanwhile, p99 ({where})", "< 1000 ms",
                   f"{details['ack_p99_ms']:.0f} ms over {len(ack_ms)}", ok=details["ack_p99_ms"] < 1000))
    details["chat_update_rate_limited"] = limited
    report.add(Row(f"Batch of {rows}: chat.update, busiest minute ({where})",
                   f"Tier 3: {_UPDATE_TIER}/min + burst, no 429",
                   f"{per_minute} ({len(updates)} while checking), {limited} rate-limited",
                   ok=per_minute <= _UPDATE_TIER + _UPDATE_BURST and limited == 0))
    target = poll_interval + _EXPLAIN_SLACK
    report.add(Row(f"Batch of {rows}: all failing at once, slowest explanation ({where})",
                   f"< {target:.0f} s", f"{slowest:.1f} s in {len(posts)} posts", f"{slowest / target:.2f}×",
                   ok=slowest < target))


def _acks_meanwhile(world: World, url: str, seconds: float, out: list[dict[str, Any]]) -> None:
    """Other people's `/replica create`, five at once every second, while the batch is checked."""
    bursts = max(3, int(seconds))
    out.append(json.loads(harness.run_worker(
        "load", url, "5", "--bursts", str(bursts), "--photo-url", world.photo_url,
        "--secret", harness.SIGNING_SECRET, "--pause", "1", "--first", str(int(time.time()) % 100_000 * 10),
    )))


def _wait(engine: Any, query: str, *, until: int | None = None, timeout: float) -> int:
    """Poll `query` until it returns a row (or a count of `until`); its first value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            value = conn.execute(sa.text(query)).scalar()
        if value is not None and (until is None or int(value) >= until):
            return int(value)
        time.sleep(0.25)
    raise RuntimeError(f"not true after {timeout:.0f} s: {query}")


def _epoch(value: datetime | str) -> float:
    """A time as the database hands it back to a plain query (SQLite: text, naive UTC)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _busiest_minute(times: list[float]) -> int:
    ordered = sorted(times)
    busiest, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 60:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest
