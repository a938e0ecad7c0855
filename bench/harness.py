"""What every scenario needs: the Slack fake, the Tavus emulator, a photo host, a fresh database, the real
app as a `python -m bot serve` child process, and rows inserted straight into the database."""

from __future__ import annotations

import asyncio
import io
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.engine import Engine, make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.sandbox.slack_fake import SlackFake, SlackFakeServer
from bot.sandbox.tavus_emulator import EmulatorServer, TavusEmulator
from bot.sandbox.threaded_server import ThreadedServer
from storage.db import make_engine, migrate
from storage.models import OutboxMessage, ReplicaRequest, utcnow

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret-0123456789"
BOT_TOKEN = "xoxb-bench-token"
TAVUS_KEY = "bench-tavus-key"
POSTGRES_ADMIN_URL = os.environ.get(
    "REPLICA_BOT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Long enough that no seeded replica finishes (or moves a percent) while a benchmark runs.
TRAINING_SECONDS = 30 * 24 * 3600

_requests: sa.Table = ReplicaRequest.__table__  # type: ignore[assignment]
_outbox: sa.Table = OutboxMessage.__table__  # type: ignore[assignment]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.split("\n")[1]
    total = mem.split()[1] if mem else "?"
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), {total} RAM, Python {python}, {platform.system()}"


def rss_of(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def portrait() -> tuple[bytes, bool]:
    """A headshot that passes every photo check (the tests' Grace Hopper), so each create does the app's
    full work after the ack; without it, a plain picture, and the face check is turned off."""
    path = ROOT / "tests" / "photos" / "grace_hopper.jpg"
    if path.exists():
        return path.read_bytes(), True
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((640, 640)).convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue(), False


# --- the outside world ------------------------------------------------------------------------------


@dataclass
class World:
    slack: SlackFakeServer
    tavus: EmulatorServer
    photos: ThreadedServer
    photo_url: str
    workdir: Path
    faces: bool

    @property
    def fake(self) -> SlackFake:
        return self.slack.fake

    @property
    def emulator(self) -> TavusEmulator:
        return self.tavus.emulator


@contextmanager
def world() -> Iterator[World]:
    with ExitStack() as stack:
        keep = os.environ.get("REPLICA_BOT_BENCH_LOGS")  # a folder to keep the app logs in, for digging
        if keep:
            workdir = Path(keep)
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="replica-bot-bench-")))
        # Every method is limited per workspace by its tier in every benchmark, as Slack does.
        slack = stack.enter_context(SlackFakeServer(SlackFake(bot_token=BOT_TOKEN, tier_limits=True)))
        emulator = TavusEmulator(api_key=TAVUS_KEY, default_training_seconds=TRAINING_SECONDS)
        tavus = stack.enter_context(EmulatorServer(emulator))
        photo, faces = portrait()
        photos = stack.enter_context(ThreadedServer(_photo_app(photo), name="photos"))
        url = photos.url + "/face.jpg"
        yield World(slack=slack, tavus=tavus, photos=photos, photo_url=url, workdir=workdir, faces=faces)


def _photo_app(photo: bytes) -> Starlette:
    # Async with keep-alive (unlike bot.sandbox.static_server): seeding downloads 10,000 photos through the
    # emulator, which keeps each one; those get a tiny file.
    tiny = io.BytesIO()
    Image.new("RGB", (8, 8)).save(tiny, "JPEG")

    async def face(_: Request) -> Response:
        return Response(photo, media_type="image/jpeg")

    async def seed(_: Request) -> Response:
        return Response(tiny.getvalue(), media_type="image/jpeg")

    routes = [Route("/face.jpg", face, methods=["GET", "HEAD"]), Route("/seed.jpg", seed, methods=["GET"])]
    return Starlette(routes=routes)


def create_replicas(world: World, count: int, *, concurrency: int = 32) -> list[str]:
    """Replicas that exist in the emulator and stay in training, created over its HTTP API."""

    async def run() -> list[str]:
        slots = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=world.tavus.url, limits=limits, timeout=30) as client:

            async def one(i: int) -> str:
                body = {
                    "replica_name": f"bench-{i}",
                    "train_image_url": world.photos.url + "/seed.jpg",
                    "voice_name": "anna",
                }
                async with slots:
                    response = await client.post("/v2/replicas", json=body, headers={"x-api-key": TAVUS_KEY})
                response.raise_for_status()
                return str(response.json()["replica_id"])

            return list(await asyncio.gather(*(one(i) for i in range(count))))

    saved = world.emulator.latency_ms
    world.emulator.configure(latency_ms=0)
    try:
        ids = asyncio.run(run())
    finally:
        world.emulator.configure(latency_ms=saved)
    # Every download must have finished, or a replica could still flip to "error" mid-benchmark.
    deadline = time.monotonic() + 120
    wanted = set(ids)
    while time.monotonic() < deadline:
        states = {r["replica_id"]: r for r in world.emulator.replicas() if r["replica_id"] in wanted}
        if all(s["training_image_size"] for s in states.values()) and len(states) == len(wanted):
            return ids
        time.sleep(0.2)
    states = Counter(
        (r["status"], r["error_message"]) for r in world.emulator.replicas() if r["replica_id"] in wanted
    )
    raise RuntimeError(f"the emulator did not finish downloading the training images: {states}")


# --- databases ------------------------------------------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database URL: SQLite in `workdir`, or a new database on the local PostgreSQL."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        _migrate(url)
        yield url
        return
    import psycopg

    name = f"replica_bot_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    rendered = url.render_as_string(hide_password=False)
    try:
        _migrate(rendered)
        yield rendered
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _request_row(i: int, **values: object) -> dict[str, object]:
    now = utcnow()
    row: dict[str, object] = {
        "team_id": "T0001",
        "channel_id": "C0BENCH",
        "requester_id": f"U{i % 500:05d}",
        "replica_name": f"bench-{i}",
        "voice_name": "anna",
        "source_url": "https://example.invalid/face.jpg",
        "status": "training",
        "callback_token": secrets.token_urlsafe(16),
        "idempotency_key": uuid.uuid4().hex,
        "created_at": now,
        "updated_at": now,
        "submitted_at": now,
        "next_poll_at": now,
        "training_progress": "0/100",
        "progress_percent": 0,
    }
    row.update(values)
    return row


def insert_training(
    engine: Engine,
    replica_ids: list[str],
    *,
    channels: list[str] | None = None,
    card_ts: list[str] | None = None,
    age: timedelta = timedelta(minutes=30),
    spread: timedelta = timedelta(0),
) -> list[int]:
    """In-flight requests for existing replicas, as if submitted `age` ago; due over the next `spread`."""
    now = utcnow()
    rows = []
    for i, replica_id in enumerate(replica_ids):
        channel = channels[i % len(channels)] if channels else "C0BENCH"
        values: dict[str, object] = {
            "replica_id": replica_id,
            "channel_id": channel,
            "created_at": now - age,
            "submitted_at": now - age,
            "next_poll_at": now + spread * (i / max(1, len(replica_ids))),
        }
        if card_ts is not None:
            values.update(card_ts=card_ts[i], card_channel_id=channel)
        rows.append(_request_row(i, **values))
    with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(_requests.insert(), rows[start : start + 2000])
        ids = conn.execute(
            sa.select(_requests.c.id).where(_requests.c.replica_id.in_(replica_ids)).order_by(_requests.c.id)
        )
        return [row[0] for row in ids]


def insert_history(engine: Engine, count: int) -> None:
    """Finished requests with their sent notifications, as months of use would leave behind."""
    now = utcnow()
    with engine.begin() as conn:
        first_id = (conn.execute(sa.select(sa.func.max(_requests.c.id))).scalar() or 0) + 1
        for start in range(0, count, 5000):
            chunk = range(start, min(count, start + 5000))
            requests, outbox = [], []
            for i in chunk:
                failed = i % 3 == 0
                when = now - timedelta(days=1 + i % 300)
                requests.append(
                    _request_row(
                        i,
                        replica_id=f"rhist{i:08d}",
                        status="failed" if failed else "completed",
                        created_at=when,
                        submitted_at=when,
                        finished_at=when + timedelta(hours=4),
                        next_poll_at=when + timedelta(hours=4),
                        last_polled_at=when + timedelta(hours=4),
                        training_progress="100/100",
                        card_ts=f"1600000000.{i:06d}",
                    )
                )
                request_id = first_id + i
                for kind in ("card", "failure" if failed else "completion"):
                    outbox.append(
                        {
                            "request_id": request_id,
                            "kind": kind,
                            "dedupe_key": f"{request_id}:{kind}",
                            "status": "sent",
                            "version": 1,
                            "delivered_version": 1,
                            "attempts": 1,
                            "failures": 0,
                            "slack_ts": f"1600000000.{i:06d}",
                            "created_at": when,
                            "next_attempt_at": when,
                            "sent_at": when,
                        }
                    )
            conn.execute(_requests.insert(), requests)
            conn.execute(_outbox.insert(), outbox)
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))


def rearm(engine: Engine, ids: list[int]) -> None:
    """Make these requests due again, unleased and never polled, as before a sweep."""
    now = utcnow()
    with engine.begin() as conn:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            conn.execute(
                _requests.update()
                .where(_requests.c.id.in_(chunk))
                .values(
                    status="training",
                    next_poll_at=now - timedelta(seconds=1),
                    lease_owner=None,
                    lease_until=None,
                    last_polled_at=None,
                )
            )


def park(engine: Engine, ids: list[int]) -> None:
    """Not due for a day: these rows stay out of the way of a sweep over others."""
    with engine.begin() as conn:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            conn.execute(
                _requests.update()
                .where(_requests.c.id.in_(chunk))
                .values(next_poll_at=utcnow() + timedelta(days=1))
            )


def count_polled(engine: Engine, ids: list[int]) -> int:
    with engine.connect() as conn:
        total = 0
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            total += conn.execute(
                sa.select(sa.func.count())
                .select_from(_requests)
                .where(_requests.c.id.in_(chunk), _requests.c.last_polled_at.is_not(None))
            ).scalar_one()
        return total


# --- processes -------------------------------------------------------------------------------------------


def base_env(world: World, database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TAVUS_", "DATABASE_", "POLL_"))
    }
    port = free_port()
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=world.slack.api_url,
        TAVUS_API_KEY=TAVUS_KEY,
        TAVUS_API_URL=world.tavus.url,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        ALLOW_PRIVATE_URLS="true",
        REQUIRE_CONSENT_CONFIRMATION="false",
        PREFLIGHT_FACES="advisory" if world.faces else "off",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(overrides)
    return env


@dataclass
class Child:
    """A child process serving HTTP on `port`, started with `argv` and `env`."""

    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def port(self) -> int:
        return int(self.env["PORT"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, health_path: str = "/healthz", timeout: float = 60) -> Child:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv} exited with {self.proc.returncode}:\n{self.logs()[-3000:]}")
            try:
                if httpx.get(self.url + health_path, timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.argv} did not answer on {health_path}:\n{self.logs()[-3000:]}")

    def rss(self) -> tuple[float, float]:
        assert self.proc is not None
        return rss_of(self.proc.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Child:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def app_process(world: World, database_url: str, name: str = "app", **overrides: str) -> Child:
    env = base_env(world, database_url, **overrides)
    return Child([sys.executable, "-m", "bot", "serve"], env, world.workdir / f"{name}.log")


def run_worker(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run `python -m bench.workers ARGS` and return what it printed (one JSON line)."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.workers", *args],
        cwd=ROOT,
        env=env or {**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench worker {args[0]} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout.strip().splitlines()[-1]
