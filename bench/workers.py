"""Child processes the benchmarks start, so nothing measured shares an interpreter (or a GIL) with the
servers playing Slack and Tavus:

    python -m bench.workers load URL COUNT --bursts N      signed /replica create bursts, latencies in ms
                                  [--kind mention]       … or @-mentions asking for a replica (Events API)
    python -m bench.workers sweep                          one Tracker.sweep() built from the environment
    python -m bench.workers preflight                      check_image on a 4000×3000 JPEG: time, memory
    python -m bench.workers bare-app                       a Bolt app that only acks, on $PORT

Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import statistics
import time
from urllib.parse import urlencode

import httpx


def _command_body(text: str, *, user: str, channel: str, i: int) -> bytes:
    form = {
        "token": "fake-verification-token",
        "team_id": "T0001",
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "bench",
        "user_id": user,
        "user_name": f"user-{user.lower()}",
        "command": "/replica",
        "text": text,
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": f"https://hooks.slack.invalid/commands/T0001/{i}/unset",
        "trigger_id": f"trig-{i}",
    }
    return urlencode(form).encode()


def _mention_body(text: str, *, user: str, channel: str, i: int) -> bytes:
    ts = f"{1_800_000_000 + i}.{i % 1_000_000:06d}"
    event = {"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts}
    return json.dumps(
        {
            "token": "fake-verification-token",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"EvBENCH{i:08d}",
            "event_time": 1_800_000_000 + i,
            "event": event,
        }
    ).encode()


def load(
    url: str,
    count: int,
    bursts: int,
    photo_url: str,
    secret: str,
    pause: float,
    kind: str = "command",
    first: int = 0,
) -> dict[str, object]:
    """`bursts` times: `count` signed requests for a replica at once (a /replica create, or an @-mention
    with a photo link); every ack's latency in ms. Requests are numbered from `first`: Slack never sends
    the same event twice on purpose, and the app drops repeats."""
    from bot.sandbox.slack_fake import sign

    async def burst(client: httpx.AsyncClient, number: int) -> list[tuple[int, float]]:
        bodies = []
        for i in range(count):
            n = first + number * count + i
            user, channel = f"U{n % 50:05d}", f"C{n % 20:05d}"
            if kind == "mention":
                text = f"<@UBOT> create {photo_url} voice=anna name=bench-{n}"
                body = _mention_body(text, user=user, channel=channel, i=n)
                content_type = "application/json"
            else:
                text = f"create {photo_url} voice=anna name=bench-{n}"
                body = _command_body(text, user=user, channel=channel, i=n)
                content_type = "application/x-www-form-urlencoded"
            bodies.append((body, {**sign(body, secret), "Content-Type": content_type}))
        start = asyncio.Event()

        async def one(body: bytes, headers: dict[str, str]) -> tuple[int, float]:
            await start.wait()
            began = time.perf_counter()
            try:
                response = await client.post("/slack/events", content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            return status, (time.perf_counter() - began) * 1000

        tasks = [asyncio.create_task(one(body, headers)) for body, headers in bodies]
        await asyncio.sleep(0.05)
        start.set()
        return list(await asyncio.gather(*tasks))

    async def run() -> list[tuple[int, float]]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        results: list[tuple[int, float]] = []
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
            # One request first, so neither app pays its first-request imports inside the burst.
            await client.post("/slack/events", content=b"", headers={"Content-Type": "text/plain"})
            for number in range(bursts):
                results += await burst(client, number)
                await asyncio.sleep(pause)
        return results

    results = asyncio.run(run())
    return {"statuses": [s for s, _ in results], "ms": [ms for _, ms in results]}


def sweep() -> dict[str, object]:
    """Build the runtime from the environment like `replica-bot serve`, then time one sweep."""
    from bot.service.runtime import build_runtime
    from bot.service.settings import load_settings

    runtime = build_runtime(load_settings())
    tracker = runtime.tracker
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    polled = tracker.sweep()
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    runtime.tavus.close()
    runtime.engine.dispose()
    return {
        "seconds": seconds,
        "polled": polled,
        "cpu_seconds": cpu,
        "concurrency": getattr(tracker, "_concurrency", None),
        # VmHWM, not ru_maxrss: Linux carries the latter over from the parent across fork and exec.
        "peak_rss_mb": _status_kb("VmHWM") / 1024,
    }


def _status_kb(name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def preflight(repeats: int) -> dict[str, object]:
    """check_image on a realistic 4000×3000 JPEG (~6 MB): first and median time, extra peak memory."""
    from PIL import Image

    from bot.photos.image_check import check_image

    # Random detail at a quarter of the size, scaled up: compresses like a photo, not like flat colour.
    detail = Image.frombytes("RGB", (1000, 750), os.urandom(1000 * 750 * 3))
    buf = io.BytesIO()
    detail.resize((4000, 3000), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    del detail, buf
    # Measure from here: the photo's bytes are already in memory, as they are when a download ends.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    baseline_kb = _status_kb("VmRSS")
    began = time.perf_counter()
    info = check_image(data)
    first = time.perf_counter() - began
    extra_mb = (_status_kb("VmHWM") - baseline_kb) / 1024
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        check_image(data)
        times.append(time.perf_counter() - began)
    return {
        "bytes": len(data),
        "size": [info.width, info.height],
        "first_ms": first * 1000,
        "median_ms": statistics.median(times) * 1000 if times else first * 1000,
        "extra_mb": extra_mb,
    }


def bare_app() -> None:
    """The floor for the ack figure: Bolt, the same Starlette adapter and uvicorn, and a listener that
    only acks. Anything our app adds on the ack path shows up as the difference."""
    import uvicorn
    from slack_bolt import Ack, App
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from slack_sdk import WebClient
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    # Bolt calls auth.test on the first request: aim it at the Slack fake, like the app's own client.
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"], timeout=10)
    bolt = App(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
    )

    @bolt.command("/replica")
    def replica(ack: Ack) -> None:
        ack(text="On it.", response_type="ephemeral")

    @bolt.event("app_mention")
    def mention() -> None:
        pass

    async def events(request: Request) -> Response:
        body = await request.body()
        response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    web = Starlette(routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)])
    uvicorn.run(web, host="127.0.0.1", port=int(os.environ["PORT"]), log_config=None, access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("load")
    p.add_argument("url")
    p.add_argument("count", type=int)
    p.add_argument("--bursts", type=int, default=1)
    p.add_argument("--photo-url", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--pause", type=float, default=2.0)
    p.add_argument("--kind", choices=("command", "mention"), default="command")
    p.add_argument("--first", type=int, default=0)
    sub.add_parser("sweep")
    p = sub.add_parser("preflight")
    p.add_argument("--repeats", type=int, default=10)
    sub.add_parser("bare-app")
    args = parser.parse_args()
    if args.what == "load":
        result = load(
            args.url, args.count, args.bursts, args.photo_url, args.secret, args.pause, args.kind, args.first
        )
    elif args.what == "sweep":
        result = sweep()
    elif args.what == "preflight":
        result = preflight(args.repeats)
    else:
        bare_app()
        return
    print(json.dumps(result))


if __name__ == "__main__":
    main()
