"""`replica-bot serve` as a real child process, talking to the stand-ins over loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bot.sandbox.slack_fake import SlackFakeServer, SlackSender
from bot.sandbox.tavus_emulator import EmulatorServer
from tests.servers import BOT_TOKEN, SIGNING_SECRET, TAVUS_KEY, free_port


class AppProcess:
    """`replica-bot serve` in a child process; kill -9 and restart keep the same database."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.sender = SlackSender(self.url, SIGNING_SECRET)
        self.log_path = workdir / "app.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> AppProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], env=self.env, cwd=self.workdir, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"app exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                # Ready, not only alive: migrated, and its background work running.
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"app did not become ready:\n{self.logs()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


AppFactory = Callable[..., AppProcess]


def app_env(
    slack_server: SlackFakeServer, tavus_server: EmulatorServer, database_url: str, **overrides: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TAVUS_", "DATABASE_"))}
    port = free_port()
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
        TAVUS_API_KEY=TAVUS_KEY,
        TAVUS_API_URL=tavus_server.url,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port),
        # The app hosts uploaded photos for the Tavus emulator and receives its callbacks.
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        POLL_INTERVAL_SECONDS="0.3",
        OUTBOX_INTERVAL_SECONDS="0.2",
        ALLOW_PRIVATE_URLS="true",
        PYTHONUNBUFFERED="1",
        # Most tests exercise what happens after the requester affirmed their rights; the consent tests
        # turn this back on.
        REQUIRE_CONSENT_CONFIRMATION="false",
        # Test photos are synthetic; the photo-check tests turn the advisory back on.
        PREFLIGHT_FACES="off",
    )
    env.update(overrides)
    return env
