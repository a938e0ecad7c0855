"""`replica-bot doctor`: is this deployment set up right? One check per line, each saying what to fix.

It checks the mode the settings describe (Socket Mode when SLACK_APP_TOKEN is set, HTTP otherwise): the
settings as `serve`/`socket` read them, Slack's bot token and its scopes against manifest.yml, the signing
secret or the app-level token, the Tavus key, the database and the media store. It prints nothing secret:
no token, key, URL password or bucket credential; only the names of the variables to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.photos.download import vet_host
from bot.photos.refusals import FetchRefusal
from bot.service.settings import Settings, SettingsError, load_settings
from bot.tavus import TavusAuthError, TavusClient, TavusError
from storage.db import DatabaseError, make_engine, schema_behind, server_version, sqlite_file

# What manifest.yml asks for (a unit test keeps the two equal): the bot needs every one of them.
MANIFEST_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "chat:write",
    "commands",
    "files:read",
    "im:history",
    "im:read",
    "im:write",
    "users:read",
    "usergroups:read",
    "users:read.email",
)
_TIMEOUT = 10
REINSTALL = "add them under OAuth & Permissions (or recreate the app from manifest.yml), then reinstall it"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        fix = f" — fix: {self.fix}" if self.fix and not self.ok else ""
        return f"{mark} {self.name}: {self.detail}{fix}"


@dataclass(frozen=True)
class Diagnosis:
    mode: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "mode": self.mode, "checks": [asdict(check) for check in self.checks]}


def diagnose(load: Callable[[], Settings] = load_settings) -> Diagnosis:
    try:
        settings = load()
    except SettingsError as exc:
        return Diagnosis(
            "unknown", (Check("settings", False, str(exc), "set it (see README.md#configuration)"),)
        )
    socket_mode = settings.slack_app_token is not None and bool(settings.slack_app_token.get_secret_value())
    mode = "socket" if socket_mode else "http"
    checks = [Check("settings", True, f"parsed; {mode} mode ({_mode_reason(socket_mode)})")]
    checks += _slack(settings, socket_mode)
    checks.append(_tavus(settings))
    checks += _database(settings)
    checks.append(_media(settings, socket_mode))
    return Diagnosis(mode, tuple(checks))


def _mode_reason(socket_mode: bool) -> str:
    return "SLACK_APP_TOKEN is set" if socket_mode else "SLACK_APP_TOKEN is not set"


# --- Slack ------------------------------------------------------------------------------------------------


def _slack(settings: Settings, socket_mode: bool) -> Iterator[Check]:
    base = str(settings.slack_api_url)
    token = _secret(settings, "slack_bot_token")
    if token is None:
        yield Check(
            "slack token", False, "SLACK_BOT_TOKEN is not set", "set it to the app's Bot User OAuth Token"
        )
    else:
        yield from _bot_token(WebClient(token=token, base_url=base, timeout=_TIMEOUT))
    if socket_mode:
        yield _app_token(
            WebClient(token=_secret(settings, "slack_app_token"), base_url=base, timeout=_TIMEOUT)
        )
    elif _secret(settings, "slack_signing_secret") is None:
        yield Check(
            "slack signing secret",
            False,
            "SLACK_SIGNING_SECRET is not set (serve needs it)",
            "set it to the Signing Secret from the app's Basic Information page",
        )
    else:
        yield Check("slack signing secret", True, "set")


def _bot_token(client: WebClient) -> Iterator[Check]:
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "error"
        yield Check(
            "slack token",
            False,
            f"Slack refused SLACK_BOT_TOKEN ({error})",
            "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) of the installed app",
        )
        return
    except (SlackClientError, OSError) as exc:
        yield Check(
            "slack token", False, f"Slack did not answer ({type(exc).__name__})", "check SLACK_API_URL"
        )
        return
    yield Check(
        "slack token", True, f"works: bot {answer.get('user_id')} in workspace {answer.get('team_id')}"
    )
    header = {k.lower(): v for k, v in answer.headers.items()}.get("x-oauth-scopes")
    if header is None:
        yield Check("slack scopes", False, "Slack did not report the token's scopes", "check SLACK_API_URL")
        return
    granted = {scope.strip() for scope in str(header).split(",") if scope.strip()}
    missing = [scope for scope in MANIFEST_SCOPES if scope not in granted]
    if missing:
        yield Check("slack scopes", False, f"the bot token lacks {', '.join(missing)}", REINSTALL)
    else:
        yield Check("slack scopes", True, f"all {len(MANIFEST_SCOPES)} scopes manifest.yml asks for")


def _app_token(client: WebClient) -> Check:
    fix = "set SLACK_APP_TOKEN to an app-level token (xapp-…) with connections:write"
    try:
        client.apps_connections_open(app_token=str(client.token))
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "error"
        return Check("slack app token", False, f"Slack refused SLACK_APP_TOKEN ({error})", fix)
    except (SlackClientError, OSError) as exc:
        return Check("slack app token", False, f"Slack did not answer ({type(exc).__name__})", fix)
    return Check("slack app token", True, "opens a Socket Mode connection")


# --- Tavus ------------------------------------------------------------------------------------------------


def _tavus(settings: Settings) -> Check:
    key = _secret(settings, "tavus_api_key")
    if key is None:
        return Check("tavus", False, "TAVUS_API_KEY is not set", "set it to a key from the Tavus portal")
    client = TavusClient(
        str(settings.tavus_api_url).rstrip("/"), key, timeout=httpx.Timeout(_TIMEOUT), max_attempts=1
    )
    try:
        # The cheapest authenticated read; a 404 on /v2/faces moves the client to the legacy paths.
        client.list_replicas(limit=1)
    except TavusAuthError as exc:
        return Check(
            "tavus",
            False,
            f"Tavus rejected TAVUS_API_KEY (HTTP {exc.status_code})",
            "set TAVUS_API_KEY to a current key from the Tavus portal",
        )
    except TavusError as exc:
        where = f"HTTP {exc.status_code}" if exc.status_code else "no answer"
        return Check(
            "tavus", False, f"Tavus is not reachable ({where})", "check TAVUS_API_URL and the network"
        )
    finally:
        client.close()
    family = "the legacy /v2/replicas paths" if client.paths.legacy else "/v2/faces"
    return Check("tavus", True, f"key accepted; speaks {family}")


# --- the database -----------------------------------------------------------------------------------------


def _database(settings: Settings) -> Iterator[Check]:
    fix = "start `replica-bot serve` or `socket` once: it migrates at start"
    file = sqlite_file(settings.database_url)
    if file is not None and not file.exists():
        # Connecting would create it; the doctor only looks.
        yield Check("database", True, f"SQLite file {file} is created at start")
        yield Check("migrations", False, "the schema is not created yet", fix)
        return
    try:
        engine = make_engine(settings.database_url)
    except DatabaseError as exc:
        yield Check("database", False, f"DATABASE_URL cannot be used ({type(exc).__name__})", "fix it")
        return
    try:
        version = server_version(engine)
        behind = schema_behind(engine)
    except DatabaseError as exc:
        cause = type(getattr(exc, "orig", None) or exc).__name__
        yield Check("database", False, f"unreachable ({cause})", "check DATABASE_URL and the server")
        return
    finally:
        engine.dispose()
    yield Check("database", True, f"reachable ({version})")
    if behind is None:
        yield Check("migrations", True, "the schema is at the newest revision")
    else:
        yield Check("migrations", False, behind, fix)


# --- where uploaded photos are hosted ---------------------------------------------------------------------


def _media(settings: Settings, socket_mode: bool) -> Check:
    if settings.media_backend == "s3":
        return _s3(settings)
    if socket_mode:
        return Check(
            "media",
            False,
            "MEDIA_BACKEND=builtin needs a public URL, which Socket Mode does not have",
            "set MEDIA_BACKEND=s3 and S3_BUCKET",
        )
    url = settings.public_base_url
    fix = "set PUBLIC_BASE_URL to the bot's public https address"
    if url is None:
        return Check("media", False, "PUBLIC_BASE_URL is not set (Tavus fetches uploaded photos there)", fix)
    if settings.allow_private_urls:
        return Check("media", True, f"builtin at {url.scheme}://{url.host} (ALLOW_PRIVATE_URLS: local use)")
    if url.scheme != "https":
        return Check("media", False, "PUBLIC_BASE_URL is not https", fix)
    try:
        vet_host(url.host or "", allow_private=False)
    except FetchRefusal as refusal:
        problem = "does not resolve" if refusal.reason == "download_failed" else "is not a public address"
        return Check("media", False, f"PUBLIC_BASE_URL {problem}", fix)
    return Check("media", True, f"builtin at https://{url.host}")


def _s3(settings: Settings) -> Check:
    from bot.service.media import MAX_PRESIGN_SECONDS, S3MediaStore  # boto3 only when S3 is used

    if not settings.s3_bucket:
        return Check("media", False, "MEDIA_BACKEND=s3 without S3_BUCKET", "set S3_BUCKET")
    try:
        endpoint = str(settings.s3_endpoint_url).rstrip("/") if settings.s3_endpoint_url else None
        store = S3MediaStore(
            bucket=settings.s3_bucket,
            ttl=timedelta(hours=1),
            endpoint_url=endpoint,
            region=settings.s3_region,
        )
        store.client.head_bucket(Bucket=settings.s3_bucket)
        url = store.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": settings.s3_bucket, "Key": "replica-bot/doctor"},
            ExpiresIn=min(3600, MAX_PRESIGN_SECONDS),
        )
    except SettingsError as exc:
        return Check("media", False, str(exc), "set the AWS credentials")
    except Exception as exc:
        return Check(
            "media",
            False,
            f"the bucket does not answer ({type(exc).__name__})",
            "check S3_BUCKET, S3_ENDPOINT_URL, S3_REGION and the credentials' rights on the bucket",
        )
    if "X-Amz-Algorithm=AWS4-HMAC-SHA256" not in url:
        return Check("media", False, "presigned URLs are not SigV4", "set S3_REGION")
    return Check("media", True, f"s3 bucket {settings.s3_bucket} answers; URLs can be presigned")


def _secret(settings: Settings, name: str) -> str | None:
    value = getattr(settings, name)
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None
