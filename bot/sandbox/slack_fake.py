"""A fake Slack: the Web API served over real HTTP on loopback, plus a sender of signed requests.

End-to-end tests and `replica-bot demo` start a `SlackFakeServer`, give the app
`SLACK_API_URL=<server.api_url>` so its slack_sdk `WebClient(base_url=...)` talks to the fake, and use
`SlackSender` to play Slack's side: slash commands, events and interactions signed like Slack signs them.

The fake answers the way Slack does where the app could get it wrong: HTTP 200 with `{"ok": false}` for
API errors, 429 with `Retry-After` when rate limited, an HTML sign-in page (status 200) for a file
download without a valid token, and `invalid_blocks` / `invalid_arguments` for Block Kit that Slack would
refuse. Like Slack, every answer to a valid token carries the token's scopes in the `x-oauth-scopes`
header (`scopes`, the manifest's by default), and `apps.connections.open` takes only the app-level token.
It is a test double, not a Slack emulator: pagination cursors, per-method scope checks and most per-user
rules are not modelled.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.sandbox.threaded_server import ThreadedServer

__all__ = ["SlackFake", "SlackFakeServer", "SlackSender", "sign"]

T = TypeVar("T")
Json = dict[str, Any]

# Increasing timestamps in Slack's format ("1795311154.898142"), from the real clock.
_TS_STEP_MICROS = 100
# Until a server binds the fake, URLs it hands out point at a name that never resolves, so a URL
# leaked from an unstarted fake fails loudly instead of reaching a real host.
_UNBOUND_URL = "http://slack-fake.invalid"
_PERMALINK_HOST = "https://fake.slack.com"
# Fields that slack_sdk (and Slack) accept as JSON strings inside form-encoded bodies.
_JSON_FIELDS = frozenset({"blocks", "attachments", "metadata", "view", "unfurls", "user_auth_blocks"})
# Per-channel chat.postMessage limit: Slack allows about one message per second with short bursts.
_POST_BURST = 3.0
# delay_response() key for downloads of uploaded files (not an API method).
FILE_DOWNLOAD = "file.download"
_POST_RATE_PER_SECOND = 1.0
# Slack's published tiers (calls a minute, per method, per workspace, per app), with the bursts it
# tolerates ("a small amount", "occasional", "sporadic", "generous"). chat.postMessage also has a
# workspace-wide ceiling whose size Slack does not publish.
TIER_1, TIER_2, TIER_3, TIER_4 = (1.0, 1), (20.0, 5), (50.0, 10), (100.0, 20)
POST_WORKSPACE = "chat.postMessage.workspace"
DEFAULT_TIERS: dict[str, tuple[float, int]] = {
    POST_WORKSPACE: (6000.0, 300),
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.postEphemeral": TIER_4,
    "chat.getPermalink": TIER_4,
    "conversations.open": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.history": TIER_3,
    "views.open": TIER_4,
    "views.push": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "files.info": TIER_4,
    "users.info": TIER_4,
    "users.lookupByEmail": TIER_3,
    "usergroups.users.list": TIER_2,
    "reactions.add": TIER_3,
}
_RESPONSE_URL_MAX_POSTS = 5
_MAX_TEXT = 40_000
_MESSAGE_BLOCK_LIMIT = 50
_VIEW_BLOCK_LIMIT = 100
_CHANNEL_ERROR_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
# What manifest.yml asks for (a unit test keeps the two equal): a bot token installed from it has these.
MANIFEST_SCOPES = (
    "app_mentions:read", "channels:history", "groups:history", "chat:write", "commands", "files:read",
    "im:history", "im:read", "im:write", "users:read", "usergroups:read", "users:read.email",
)

_SIGN_IN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in | Slack</title></head>
<body><h1>Sign in to Fake Workspace</h1>
<p>Enter your workspace's Slack URL to continue.</p>
<form action="/signin" method="post"><input name="domain"><button>Continue</button></form>
</body></html>
"""


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class _Injection:
    status: int
    error: str | None
    retry_after: float | None
    remaining: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class _StoredFile:
    id: str
    content: bytes
    name: str
    mimetype: str
    filetype: str
    user: str
    created: int
    downloads: int = 0
    refused_downloads: int = 0


@dataclass
class _ApiReply:
    status: int
    body: Json | str
    headers: dict[str, str]


def _between(messages: list[Json], params: Json) -> list[Json]:
    """The messages within `oldest`..`latest` (exclusive unless `inclusive`), as Slack filters reads."""
    oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or math.inf)
    inclusive = _truthy(params.get("inclusive", False))
    return [
        m
        for m in messages
        if (oldest <= float(m["ts"]) <= latest if inclusive else oldest < float(m["ts"]) < latest)
    ]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _required(params: Json, name: str, error: str = "invalid_arguments") -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise _ApiError(error, response_metadata={"messages": [f"[ERROR] missing required field: {name}"]})
    return value


def _decode_json_fields(params: Json) -> Json:
    decoded = dict(params)
    for key in _JSON_FIELDS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                decoded[key] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise _ApiError("invalid_json", response_metadata={"messages": [f"{key}: {exc}"]}) from exc
    return decoded


def _text_problems(obj: Any, where: str, *, plain_only: bool = False) -> list[str]:
    """What Slack refuses in a text object and slack_sdk lets through: the wrong type, an empty text."""
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"[ERROR] must be a {' or '.join(allowed)} text object [json-pointer:{where}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be at least 1 characters [json-pointer:{where}/text]"]
    return []


_TOO_LONG = re.compile(r"cannot exceed (\d+) characters")
_TOO_MANY = re.compile(r"cannot exceed (\d+) (?:items|elements)")


def _sdk_problems(build: Any, obj: Json, where: str) -> list[str]:
    """slack_sdk's own Block Kit checks (lengths and counts) of `obj`, worded the way Slack words them."""
    try:
        built = build()
        if built is not None:
            built.validate_json()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as exc:
        text = str(exc)
        # slack_sdk names the attribute first ("title must be …", "text attribute cannot exceed …").
        attribute = text.split(" ", 1)[0]
        at = f"{where}/{attribute}" if attribute in obj else where
        if match := _TOO_LONG.search(text):
            return [f"[ERROR] must be less than {int(match[1]) + 1} characters [json-pointer:{at}]"]
        if match := _TOO_MANY.search(text):
            return [f"[ERROR] no more than {match[1]} items allowed [json-pointer:{at}]"]
        return [f"[ERROR] {text} [json-pointer:{at}]"]
    return []


def _block_problems(blocks: Any, *, limit: int, where: str) -> list[str]:
    """Slack's limits on blocks: slack_sdk checks lengths and counts; what it leaves out is checked here."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{where}]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{where}]")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{where}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"[ERROR] missing required field: type [json-pointer:{at}]")
            continue
        problems += _sdk_problems(lambda block=block: Block.parse(block), block, at)
        block_id = block.get("block_id")
        if block_id is not None:
            if str(block_id) in seen_ids:
                problems.append(f"[ERROR] duplicate block_id {block_id!r} [json-pointer:{at}/block_id]")
            seen_ids.add(str(block_id))
        kind = block["type"]
        if kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is not None:
                problems += _text_problems(text, f"{at}/text")
            for i, field in enumerate(fields if isinstance(fields, list) else []):
                problems += _text_problems(field, f"{at}/fields/{i}")
                if isinstance(field, dict) and len(str(field.get("text", ""))) > 2000:
                    pointer = f"{at}/fields/{i}/text"
                    problems.append(f"[ERROR] must be less than 2001 characters [json-pointer:{pointer}]")
        elif kind == "header":
            problems += _text_problems(block.get("text"), f"{at}/text", plain_only=True)
        elif kind in ("context", "actions") and not block.get("elements"):
            problems.append(f"[ERROR] must have at least 1 element [json-pointer:{at}/elements]")
        elif kind == "input":
            problems += _text_problems(block.get("label"), f"{at}/label", plain_only=True)
    return problems


def _view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["[ERROR] missing required field: view"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return ["[ERROR] must be one of modal, home [json-pointer:/view/type]"]
    # slack_sdk checks the title, the buttons, private_metadata and callback_id; the blocks, below.
    fields = {k: v for k, v in view.items() if k != "blocks"}
    problems = _sdk_problems(lambda: View(**fields, blocks=[{"type": "divider"}]), view, "/view")
    if kind == "modal":
        problems += _text_problems(view.get("title"), "/view/title", plain_only=True)
    problems += _block_problems(view.get("blocks"), limit=_VIEW_BLOCK_LIMIT, where="/view/blocks")
    return problems


class SlackFake:
    """All the state of the fake Slack workspace, guarded by one lock; `app` serves it over HTTP."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-1-A0001-test-token",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        enforce_rate_limits: bool = False,
        tier_limits: bool = False,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B0001"
        self.app_id = "A0001"
        # chat.postMessage: about one a second per channel.
        self.enforce_rate_limits = enforce_rate_limits
        # Every method's tier, per workspace, and the workspace ceiling of chat.postMessage.
        self.tier_limits = tier_limits
        self._limits_at_start = (enforce_rate_limits, tier_limits)
        # Set by SlackFakeServer once it has a port; file and response URLs are built from it.
        self.base_url = _UNBOUND_URL
        self._lock = threading.RLock()
        # Counters survive reset(): the app's database outlives a reset between tests, and a reused
        # ts or file id would look like a message or file it has already handled.
        self._last_ts_micros = 0
        self._id_counter = 0
        self._init_state()
        self._methods: dict[str, Callable[[Json], Json]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.info": self._files_info,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
            "reactions.add": self._reactions_add,
        }
        self.app = Starlette(routes=self._routes())

    def _init_state(self) -> None:
        # False models a bot token without `files:read`: every download gets Slack's sign-in page.
        self.files_read_scope = True
        # What the bot token was granted, as the `x-oauth-scopes` header reports it.
        self.scopes: list[str] = list(MANIFEST_SCOPES)
        self._calls: list[Json] = []
        self._messages: dict[str, list[Json]] = {}
        self._ephemerals: list[Json] = []
        self._views: list[Json] = []
        self._view_store: dict[str, Json] = {}
        self._home: dict[str, list[Json]] = {}
        self._home_view_ids: dict[str, str] = {}
        self._response_ids: dict[str, int] = {}
        self._response_posts: list[Json] = []
        self._files: dict[str, _StoredFile] = {}
        self._channel_errors: dict[str, str] = {}
        self._injections: dict[str, list[_Injection]] = {}
        self._delays: dict[str, list[float]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._rate_limited: dict[str, int] = {}
        self._tiers: dict[str, tuple[float, int]] = dict(DEFAULT_TIERS)
        self._tier_buckets: dict[str, _Bucket] = {}
        self._limited_by_method: dict[str, int] = {}
        # Commercially distributed apps outside the Marketplace get at most 15 objects per read.
        self.max_read_objects: int | None = None
        self._open_dms: set[str] = set()
        # Every well-formed user id is an active person unless told otherwise (`set_user`); user groups
        # exist only once given (`set_usergroup`).
        self._people: dict[str, Json] = {}
        self._usergroups: dict[str, list[str]] = {}
        # E-mail addresses of people (users.lookupByEmail), lower-cased; none unless given (`set_email`).
        self._emails: dict[str, str] = {}

    # ------------------------------------------------------------------ inspection

    def last_call_time(self) -> float | None:
        """When the latest Web API call arrived (epoch seconds), or None before the first."""
        with self._lock:
            return self._calls[-1]["time"] if self._calls else None

    def calls(self, method: str | None = None) -> list[Json]:
        """Every Web API call in arrival order: method, params, time, status, response."""
        with self._lock:
            return copy.deepcopy([c for c in self._calls if method is None or c["method"] == method])

    def messages(self, channel: str) -> list[Json]:
        """Top-level and threaded messages in `channel` in posting order, as last updated."""
        with self._lock:
            return copy.deepcopy(self._messages.get(channel, []))

    def thread(self, channel: str, ts: str) -> list[Json]:
        """Replies in the thread under `ts`, without the parent."""
        with self._lock:
            return copy.deepcopy(
                [m for m in self._messages.get(channel, []) if m["thread_ts"] == ts and m["ts"] != ts]
            )

    def ephemerals(self, channel: str | None = None) -> list[Json]:
        with self._lock:
            return copy.deepcopy([e for e in self._ephemerals if channel is None or e["channel"] == channel])

    def views(self) -> list[Json]:
        """views.open / views.push / views.update calls that succeeded, in order."""
        with self._lock:
            return copy.deepcopy(self._views)

    def home_views(self, user_id: str) -> list[Json]:
        """Every views.publish for `user_id`, oldest first."""
        with self._lock:
            return copy.deepcopy(self._home.get(user_id, []))

    def response_url_posts(self) -> list[Json]:
        with self._lock:
            return copy.deepcopy(self._response_posts)

    def downloads(self, file_id: str) -> int:
        """Successful (authorised) downloads of a file."""
        with self._lock:
            stored = self._files.get(file_id)
            return stored.downloads if stored else 0

    def rate_limited(self, channel: str | None = None) -> int:
        """How many chat.postMessage calls enforce_rate_limits refused (injected 429s not included)."""
        with self._lock:
            if channel is not None:
                return self._rate_limited.get(channel, 0)
            return sum(self._rate_limited.values())

    def call_times(self, method: str) -> list[tuple[float, int]]:
        """(arrival time, HTTP status) of every call to `method`: cheap, for counting calls per minute."""
        with self._lock:
            return [(c["time"], c["status"]) for c in self._calls if c["method"] == method]

    def limited_calls(self, method: str | None = None) -> int | dict[str, int]:
        """429s the rate limits answered (injected ones not included): for `method`, or by method."""
        with self._lock:
            if method is not None:
                return self._limited_by_method.get(method, 0)
            return dict(self._limited_by_method)

    def describe(self, *, last_calls: int = 30) -> str:
        """A readable dump of recent calls and all messages, for assertion messages."""
        with self._lock:
            lines = [f"Slack fake at {self.base_url}: {len(self._calls)} API calls; last {last_calls}:"]
            for call in self._calls[-last_calls:]:
                response = call["response"]
                outcome = (
                    ("ok" if response.get("ok") else f"error={response.get('error')}")
                    if isinstance(response, dict)
                    else str(response)[:60]
                )
                params = {k: v for k, v in call["params"].items() if k not in ("blocks", "view")}
                lines.append(
                    f"  {call['method']} [{call['status']} {outcome}] {json.dumps(params, default=str)[:200]}"
                )
            for channel, messages in self._messages.items():
                lines.append(f"messages in {channel}:")
                for message in messages:
                    thread = f" (thread {message['thread_ts']})" if message["thread_ts"] else ""
                    lines.append(f"  {message['ts']}{thread} {message['user']}: {message['text'][:120]!r}")
            if self._ephemerals:
                lines.append(f"ephemerals: {[e['text'][:80] for e in self._ephemerals]}")
            if self._response_posts:
                lines.append(f"response_url posts: {[str(p['body'])[:80] for p in self._response_posts]}")
            return "\n".join(lines)

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05) -> T:
        """Poll `predicate` until it returns something truthy; the app under test works in the background."""
        deadline = time.monotonic() + timeout
        last: T | None = None
        while True:
            last = predicate()
            if last:
                return last
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"wait_for timed out after {timeout}s (last result: {last!r})\n{self.describe()}"
                )
            time.sleep(interval)

    # ------------------------------------------------------------------ control

    def inject(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` calls to `method` ("*" for any) fail.

        status 429 answers `ratelimited` with a Retry-After header (default 1 s), 5xx answers a plain-text
        body, and status 200 needs `error` and answers `{"ok": false, "error": error}`.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        if status == 200 and not error:
            raise ValueError("an injected status 200 needs an error, e.g. error='channel_not_found'")
        if status != 200 and status < 400:
            raise ValueError("inject a 200 with an error, a 429, or another 4xx/5xx status")
        with self._lock:
            self._injections.setdefault(method, []).append(_Injection(status, error, retry_after, count))

    def delay_response(self, method: str, seconds: float, *, count: int = 1) -> None:
        """Carry out the next `count` calls to `method` as usual, then wait before answering: the window in
        which a client has been served but has not heard back (the moment a crash double-posts).
        `FILE_DOWNLOAD` as the method slows the next downloads of uploaded files instead."""
        with self._lock:
            self._delays.setdefault(method, []).extend([seconds] * count)

    def delays_pending(self, method: str) -> int:
        """How many of the delays asked for `method` no call has reached yet."""
        with self._lock:
            return len(self._delays.get(method, []))

    def _take_delay(self, method: str) -> float:
        with self._lock:
            queue = self._delays.get(method)
            return queue.pop(0) if queue else 0.0

    def set_rate_limit(self, method: str, per_minute: float, burst: int = 1) -> None:
        """Limit `method` (or `chat.postMessage.workspace`, the posting ceiling) to `per_minute` calls per
        workspace, `burst` at once, while `tier_limits` is on; the bucket starts full."""
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        with self._lock:
            self._tiers[method] = (float(per_minute), int(burst))
            self._tier_buckets.pop(method, None)

    def exhaust(self, method: str) -> None:
        """Spend what `method`'s bucket holds, as if the workspace had just used it up."""
        with self._lock:
            self._tier_buckets[method] = _Bucket(0.0, time.monotonic())

    def set_user(
        self, user_id: str, *, exists: bool = True, is_bot: bool = False, deleted: bool = False
    ) -> None:
        """What users.info says of `user_id` (and whether a DM can be opened with them): a person who does
        not exist (`user_not_found`), an app's bot user (`is_bot`), or a deactivated account (`deleted`)."""
        with self._lock:
            self._people[user_id] = {"exists": exists, "is_bot": is_bot, "deleted": deleted}

    def set_email(self, email: str, user_id: str) -> None:
        """The person whose address `email` is, for users.lookupByEmail."""
        with self._lock:
            self._emails[email.strip().lower()] = user_id

    def set_usergroup(self, group_id: str, users: list[str]) -> None:
        """A user group (S…) and its members, for usergroups.users.list."""
        with self._lock:
            self._usergroups[group_id] = list(users)

    def set_channel_error(self, channel: str, error: str | None) -> None:
        """Make every post/update/ephemeral into `channel` fail with `error`; None clears it."""
        with self._lock:
            if error is None:
                self._channel_errors.pop(channel, None)
            else:
                self._channel_errors[channel] = error

    def add_file(
        self,
        content: bytes,
        *,
        name: str = "photo.png",
        mimetype: str = "image/png",
        filetype: str = "png",
        user: str = "U123",
    ) -> Json:
        """Store an uploaded file and return its Slack file object."""
        with self._lock:
            file_id = self._next_id("F")
            self._files[file_id] = _StoredFile(
                id=file_id,
                content=bytes(content),
                name=name,
                mimetype=mimetype,
                filetype=filetype,
                user=user,
                created=int(time.time()),
            )
            return self._file_object(self._files[file_id])

    def add_message(
        self,
        channel: str,
        text: str = "",
        *,
        user: str = "U123",
        thread_ts: str | None = None,
        files: list[Json] | None = None,
        blocks: list[Json] | None = None,
    ) -> Json:
        """Record a message a person posted, so the app can read it back (replies, history, permalinks)."""
        with self._lock:
            message = self._store_message(
                channel,
                copy.deepcopy({"text": text, "blocks": blocks, "thread_ts": thread_ts, "files": files or []}),
                user=user,
                bot_id=None,
            )
            return copy.deepcopy(message)

    def response_url(self) -> str:
        """A fresh response_url on the fake; like Slack's, it accepts up to 5 posts."""
        with self._lock:
            response_id = self._next_id("R")
            self._response_ids[response_id] = 0
            return f"{self.base_url}/response/{response_id}"

    def reset(self) -> None:
        """Forget everything recorded and injected, and put the rate limits back as constructed; ids and
        timestamps keep increasing."""
        with self._lock:
            self._init_state()
            self.enforce_rate_limits, self.tier_limits = self._limits_at_start

    # ------------------------------------------------------------------ Web API core

    def _next_ts(self) -> str:
        # Real epoch time, like Slack (clients filter history with `oldest`), and strictly increasing.
        micros = max(time.time_ns() // 1000, self._last_ts_micros + _TS_STEP_MICROS)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._id_counter += 1
        return f"{prefix}{self._id_counter:010d}"

    def _handle_api(
        self, method: str, params: Json, token: str | None, http_method: str, body_error: str | None = None
    ) -> _ApiReply:
        with self._lock:
            # Record blocks/metadata/view decoded, so tests read the same shape whether the app sent
            # JSON or a form body.
            try:
                recorded, decode_error = _decode_json_fields(params), None
            except _ApiError as exc:
                recorded, decode_error = params, exc
            if body_error is not None:
                decode_error = _ApiError(body_error)
            reply = self._dispatch(method, recorded, token, decode_error)
            self._calls.append(
                {
                    "method": method,
                    "params": recorded,
                    "http_method": http_method,
                    "time": time.time(),
                    "status": reply.status,
                    "response": reply.body,
                }
            )
            return _ApiReply(reply.status, copy.deepcopy(reply.body), reply.headers)

    def _dispatch(
        self, method: str, params: Json, token: str | None, decode_error: _ApiError | None
    ) -> _ApiReply:
        if method not in self._methods:
            return _ApiReply(200, {"ok": False, "error": "unknown_method"}, {})
        if not token:
            return _ApiReply(200, {"ok": False, "error": "not_authed"}, {})
        is_app_token = hmac.compare_digest(token, self.app_token)
        if (method == "apps.connections.open") != is_app_token:
            # An app-level token opens Socket Mode connections and nothing else; a bot token cannot.
            known = is_app_token or hmac.compare_digest(token, self.bot_token)
            error = "not_allowed_token_type" if known else "invalid_auth"
            return _ApiReply(200, {"ok": False, "error": error}, {})
        if not is_app_token and not hmac.compare_digest(token, self.bot_token):
            return _ApiReply(200, {"ok": False, "error": "invalid_auth"}, {})
        reply = self._authorised(method, params, decode_error)
        scopes = "connections:write" if is_app_token else ",".join(self.scopes)
        return _ApiReply(reply.status, reply.body, {**reply.headers, "x-oauth-scopes": scopes})

    def _authorised(self, method: str, params: Json, decode_error: _ApiError | None) -> _ApiReply:
        handler = self._methods[method]
        injected = self._take_injection(method)
        if injected is not None:
            return injected
        if self.tier_limits:
            tier = POST_WORKSPACE if method == "chat.postMessage" else method
            limited = self._consume_tier_token(tier, method)
            if limited is not None:
                return limited
        if method == "chat.postMessage" and self.enforce_rate_limits:
            limited = self._consume_post_token(self._dm_channel(str(params.get("channel", ""))))
            if limited is not None:
                self._limited_by_method[method] = self._limited_by_method.get(method, 0) + 1
                return limited
        try:
            if decode_error is not None:
                raise decode_error
            if method in _CHANNEL_ERROR_METHODS:
                channel_error = self._channel_errors.get(self._dm_channel(str(params.get("channel", ""))))
                if channel_error:
                    raise _ApiError(channel_error)
            # A private copy, so stored messages and views share nothing with the recorded call.
            return _ApiReply(200, {"ok": True, **handler(copy.deepcopy(params))}, {})
        except _ApiError as exc:
            return _ApiReply(200, {"ok": False, "error": exc.error, **exc.extra}, {})

    def _take_injection(self, method: str) -> _ApiReply | None:
        for key in (method, "*"):
            queue = self._injections.get(key)
            if not queue:
                continue
            injection = queue[0]
            injection.remaining -= 1
            if injection.remaining <= 0:
                queue.pop(0)
            if injection.status == 429:
                retry_after = 1.0 if injection.retry_after is None else injection.retry_after
                return self._ratelimited(retry_after, injection.error)
            if injection.status >= 400:
                headers = {}
                if injection.retry_after is not None:
                    headers["Retry-After"] = str(math.ceil(injection.retry_after))
                body = injection.error or f"fake upstream error {injection.status}"
                return _ApiReply(injection.status, body, headers)
            return _ApiReply(200, {"ok": False, "error": injection.error}, {})
        return None

    @staticmethod
    def _ratelimited(retry_after: float, error: str | None = None) -> _ApiReply:
        # slack_sdk's RateLimitErrorRetryHandler does int(Retry-After): whole seconds only, like Slack.
        return _ApiReply(
            429,
            {"ok": False, "error": error or "ratelimited"},
            {"Retry-After": str(max(0, math.ceil(retry_after)))},
        )

    def _consume_post_token(self, channel: str) -> _ApiReply | None:
        now = time.monotonic()
        bucket = self._buckets.setdefault(channel, _Bucket(_POST_BURST, now))
        bucket.tokens = min(_POST_BURST, bucket.tokens + (now - bucket.updated) * _POST_RATE_PER_SECOND)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        self._rate_limited[channel] = self._rate_limited.get(channel, 0) + 1
        return self._ratelimited((1.0 - bucket.tokens) / _POST_RATE_PER_SECOND)

    def _consume_tier_token(self, tier: str, method: str) -> _ApiReply | None:
        if tier not in self._tiers:
            return None
        per_minute, burst = self._tiers[tier]
        rate = per_minute / 60.0
        now = time.monotonic()
        bucket = self._tier_buckets.setdefault(tier, _Bucket(float(burst), now))
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        self._limited_by_method[method] = self._limited_by_method.get(method, 0) + 1
        return self._ratelimited((1.0 - bucket.tokens) / rate)

    # ------------------------------------------------------------------ messages

    def _dm_channel(self, channel: str) -> str:
        # Posting to a user id lands in the DM with that user, as on Slack.
        return f"D{channel}" if _USER_ID.match(channel) else channel

    def _find(self, channel: str, ts: str) -> Json | None:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        return None

    def _check_content(self, params: Json, *, required: bool) -> None:
        text, blocks, attachments = params.get("text"), params.get("blocks"), params.get("attachments")
        if required and not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if isinstance(text, str) and len(text) > _MAX_TEXT:
            raise _ApiError("msg_too_long")
        if blocks is not None and blocks != "":
            problems = _block_problems(blocks, limit=_MESSAGE_BLOCK_LIMIT, where="/blocks")
            if problems:
                raise _ApiError("invalid_blocks", response_metadata={"messages": problems})
        metadata = params.get("metadata")
        if metadata not in (None, ""):
            valid = (
                isinstance(metadata, dict)
                and isinstance(metadata.get("event_type"), str)
                and metadata["event_type"]
                and isinstance(metadata.get("event_payload"), dict)
            )
            if not valid:
                raise _ApiError("invalid_metadata_format")

    def _store_message(self, channel: str, params: Json, *, user: str, bot_id: str | None) -> Json:
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None:
            thread_ts = str(thread_ts)
            parent = self._find(channel, thread_ts)
            # A reply to a reply joins the parent's thread, as on Slack.
            if parent is not None and parent["thread_ts"] and parent["thread_ts"] != parent["ts"]:
                thread_ts = parent["thread_ts"]
        ts = self._next_ts()
        message: Json = {
            "channel": channel,
            "ts": ts,
            "thread_ts": thread_ts,
            "text": params.get("text") or "",
            "blocks": params.get("blocks") or [],
            "attachments": params.get("attachments") or [],
            "metadata": params.get("metadata") or None,
            "files": params.get("files") or [],
            "user": user,
            "bot_id": bot_id,
            "unfurl_links": _truthy(params["unfurl_links"]) if "unfurl_links" in params else None,
            "unfurl_media": _truthy(params["unfurl_media"]) if "unfurl_media" in params else None,
            "reply_broadcast": _truthy(params.get("reply_broadcast", False)),
            "reactions": [],
            "edit_count": 0,
            "history": [],
            "time": time.time(),
        }
        self._messages.setdefault(channel, []).append(message)
        return message

    def _replies_of(self, channel: str, ts: str) -> list[Json]:
        return [m for m in self._messages.get(channel, []) if m["thread_ts"] == ts and m["ts"] != ts]

    def _api_message(self, message: Json, *, include_metadata: bool) -> Json:
        """The message as Slack's API returns it."""
        rendered: Json = {
            "type": "message",
            "user": message["user"],
            "text": message["text"],
            "ts": message["ts"],
            "team": self.team_id,
        }
        if message["bot_id"]:
            rendered.update(bot_id=message["bot_id"], app_id=self.app_id)
        if message["blocks"]:
            rendered["blocks"] = message["blocks"]
        if message["attachments"]:
            rendered["attachments"] = message["attachments"]
        if message["files"]:
            rendered["files"] = [self._render_file_ref(f) for f in message["files"]]
        if message["thread_ts"]:
            rendered["thread_ts"] = message["thread_ts"]
        replies = self._replies_of(message["channel"], message["ts"])
        if replies:
            rendered.update(
                thread_ts=message["ts"],
                reply_count=len(replies),
                reply_users=sorted({r["user"] for r in replies}),
                latest_reply=replies[-1]["ts"],
            )
        if message["edit_count"]:
            rendered["edited"] = {"user": message["user"], "ts": message["history"][-1]["edited_ts"]}
        if message["reactions"]:
            rendered["reactions"] = [
                {"name": name, "users": [self.bot_user_id], "count": 1} for name in message["reactions"]
            ]
        if include_metadata and message["metadata"]:
            rendered["metadata"] = message["metadata"]
        return rendered

    def _render_file_ref(self, file: Json) -> Json:
        stored = self._files.get(str(file.get("id", "")))
        return self._file_object(stored) if stored is not None else file

    def _auth_test(self, params: Json) -> Json:
        return {
            "url": f"{_PERMALINK_HOST}/",
            "team": "Fake Workspace",
            "user": "replica-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: Json) -> Json:
        return {"url": f"wss://wss-fake.slack.invalid/link/?ticket={uuid.uuid4().hex}&app_id={self.app_id}"}

    def _chat_post_message(self, params: Json) -> Json:
        channel = self._dm_channel(str(_required(params, "channel", "channel_not_found")))
        self._check_content(params, required=True)
        message = self._store_message(channel, params, user=self.bot_user_id, bot_id=self.bot_id)
        return {
            "channel": channel,
            "ts": message["ts"],
            "message": self._api_message(message, include_metadata=True),
        }

    def _chat_update(self, params: Json) -> Json:
        channel = self._dm_channel(str(_required(params, "channel", "channel_not_found")))
        ts = str(_required(params, "ts", "message_not_found"))
        message = self._find(channel, ts)
        if message is None:
            raise _ApiError("message_not_found")
        if message["user"] != self.bot_user_id:
            raise _ApiError("cant_update_message")
        self._check_content(params, required=True)
        previous = {k: copy.deepcopy(message[k]) for k in ("text", "blocks", "attachments", "metadata")}
        message["history"].append({**previous, "edited_ts": self._next_ts()})
        message["edit_count"] = len(message["history"])
        if "text" in params:
            message["text"] = params.get("text") or ""
        # Slack keeps blocks, attachments and metadata that an update leaves out.
        for key in ("blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key] or ([] if key != "metadata" else None)
        return {
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": self._api_message(message, include_metadata=True),
        }

    def _chat_post_ephemeral(self, params: Json) -> Json:
        channel = self._dm_channel(str(_required(params, "channel", "channel_not_found")))
        user = str(_required(params, "user", "user_not_in_channel"))
        self._check_content(params, required=True)
        message_ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel,
                "user": user,
                "text": params.get("text") or "",
                "blocks": params.get("blocks") or [],
                "thread_ts": params.get("thread_ts") or None,
                "message_ts": message_ts,
                "time": time.time(),
            }
        )
        return {"message_ts": message_ts}

    def _chat_delete(self, params: Json) -> Json:
        channel = str(_required(params, "channel", "channel_not_found"))
        ts = str(_required(params, "ts", "message_not_found"))
        message = self._find(channel, ts)
        if message is None:
            raise _ApiError("message_not_found")
        if message["user"] != self.bot_user_id:
            raise _ApiError("cant_delete_message")
        self._messages[channel].remove(message)
        return {"channel": channel, "ts": ts}

    def _chat_get_permalink(self, params: Json) -> Json:
        channel = str(_required(params, "channel", "channel_not_found"))
        ts = str(_required(params, "message_ts", "message_not_found"))
        message = self._find(channel, ts)
        if message is None:
            raise _ApiError("message_not_found")
        permalink = f"{_PERMALINK_HOST}/archives/{channel}/p{ts.replace('.', '')}"
        if message["thread_ts"] and message["thread_ts"] != ts:
            permalink += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": permalink}

    def _conversations_open(self, params: Json) -> Json:
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if params.get("channel"):
            channel_id = str(params["channel"])
        elif len(users) == 1:
            # As on Slack: no DM with someone who is not a person, or not active.
            person = self._person(users[0])
            if person["is_bot"] and users[0] != self.bot_user_id:
                raise _ApiError("cannot_dm_bot")
            if person["deleted"]:
                raise _ApiError("user_disabled")
            channel_id = f"D{users[0]}"
        elif len(users) > 1:
            channel_id = "G" + hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
        else:
            raise _ApiError("users_list_not_supplied")
        already_open = channel_id in self._open_dms
        self._open_dms.add(channel_id)
        channel: Json = {"id": channel_id}
        if channel_id.startswith("D") and users:
            channel.update(is_im=True, user=users[0])
        return {"no_op": already_open, "already_open": already_open, "channel": channel}

    def _read_limit(self, params: Json, default: int) -> int:
        limit = int(params.get("limit") or default)
        return min(limit, self.max_read_objects) if self.max_read_objects else limit

    def _conversations_replies(self, params: Json) -> Json:
        channel = str(_required(params, "channel", "channel_not_found"))
        ts = str(_required(params, "ts", "thread_not_found"))
        message = self._find(channel, ts)
        if message is None:
            raise _ApiError("thread_not_found")
        root_ts = message["thread_ts"] or message["ts"]
        root = self._find(channel, root_ts)
        thread = ([root] if root is not None else []) + self._replies_of(channel, root_ts)
        if params.get("oldest") or params.get("latest"):
            thread = _between(thread, params)
        return self._page(thread, params, 1000)

    def _conversations_history(self, params: Json) -> Json:
        channel = str(_required(params, "channel", "channel_not_found"))
        top_level = [
            m
            for m in self._messages.get(channel, [])
            if not m["thread_ts"] or m["thread_ts"] == m["ts"] or m["reply_broadcast"]
        ]
        selected = _between(top_level, params)
        selected.reverse()
        return {**self._page(selected, params, 100), "pin_count": 0}

    def _page(self, messages: list[Json], params: Json, default_limit: int) -> Json:
        """One page of `messages`; the cursor is the offset of the next page."""
        limit = self._read_limit(params, default_limit)
        cursor = str(params.get("cursor") or "")
        start = int(cursor) if cursor.isdigit() else 0
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        include = _truthy(params.get("include_all_metadata", False))
        return {
            "messages": [self._api_message(m, include_metadata=include) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    # ------------------------------------------------------------------ views

    def _build_view(self, view: Json, view_id: str, *, root_id: str | None, previous_id: str | None) -> Json:
        blocks = view.get("blocks") or []
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": blocks,
            "private_metadata": view.get("private_metadata") or "",
            "callback_id": view.get("callback_id") or "",
            "external_id": view.get("external_id") or "",
            "state": {"values": {}},
            "hash": uuid.uuid4().hex[:20],
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_id or view_id,
            "previous_view_id": previous_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _validated_view(self, params: Json, *, kind: str | None = None) -> Json:
        view = params.get("view")
        problems = _view_problems(view)
        if not problems and kind is not None and isinstance(view, dict) and view.get("type") != kind:
            problems = [f"[ERROR] must be {kind} [json-pointer:/view/type]"]
        if problems:
            raise _ApiError("invalid_arguments", response_metadata={"messages": problems})
        assert isinstance(view, dict)
        return view

    def _record_view(self, method: str, params: Json, view: Json, built: Json) -> None:
        self._view_store[built["id"]] = built
        self._views.append(
            {
                "method": method,
                "trigger_id": params.get("trigger_id"),
                "view_id": built["id"],
                "view": copy.deepcopy(view),
                "time": time.time(),
            }
        )

    def _views_open(self, params: Json) -> Json:
        _required(params, "trigger_id")
        view = self._validated_view(params, kind="modal")
        built = self._build_view(view, self._next_id("V"), root_id=None, previous_id=None)
        self._record_view("views.open", params, view, built)
        return {"view": built}

    def _views_push(self, params: Json) -> Json:
        _required(params, "trigger_id")
        view = self._validated_view(params, kind="modal")
        opened = [v for v in self._views if v["method"] in ("views.open", "views.push")]
        previous_id = opened[-1]["view_id"] if opened else None
        root_id = self._view_store[previous_id]["root_view_id"] if previous_id else None
        built = self._build_view(view, self._next_id("V"), root_id=root_id, previous_id=previous_id)
        self._record_view("views.push", params, view, built)
        return {"view": built}

    def _views_update(self, params: Json) -> Json:
        view = self._validated_view(params)
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        if not view_id and not external_id:
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["view_id or external_id"]})
        existing = self._view_store.get(str(view_id)) if view_id else None
        if existing is None and external_id:
            existing = next((v for v in self._view_store.values() if v["external_id"] == external_id), None)
        if existing is None:
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != existing["hash"]:
            raise _ApiError("hash_conflict")
        built = self._build_view(
            view, existing["id"], root_id=existing["root_view_id"], previous_id=existing["previous_view_id"]
        )
        self._record_view("views.update", params, view, built)
        return {"view": built}

    def _views_publish(self, params: Json) -> Json:
        user_id = str(_required(params, "user_id"))
        view = self._validated_view(params, kind="home")
        existing_id = self._home_view_ids.get(user_id)
        if params.get("hash") and existing_id and params["hash"] != self._view_store[existing_id]["hash"]:
            raise _ApiError("hash_conflict")
        view_id = existing_id or self._next_id("V")
        self._home_view_ids[user_id] = view_id
        built = self._build_view(view, view_id, root_id=None, previous_id=None)
        self._view_store[view_id] = built
        self._home.setdefault(user_id, []).append(
            {"user_id": user_id, "view_id": view_id, "view": copy.deepcopy(view), "time": time.time()}
        )
        return {"view": built}

    # ------------------------------------------------------------------ files, users, reactions

    def _file_object(self, stored: _StoredFile) -> Json:
        private = f"{self.base_url}/files-pri/{self.team_id}-{stored.id}"
        return {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.name,
            "title": stored.name,
            "mimetype": stored.mimetype,
            "filetype": stored.filetype,
            "pretty_type": stored.filetype.upper(),
            "user": stored.user,
            "user_team": self.team_id,
            "editable": False,
            "size": len(stored.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{private}/{quote(stored.name)}",
            "url_private_download": f"{private}/download/{quote(stored.name)}",
            "permalink": f"{_PERMALINK_HOST}/files/{stored.user}/{stored.id}/{quote(stored.name)}",
            "permalink_public": f"{_PERMALINK_HOST}/files-pub/{self.team_id}-{stored.id}-0000",
        }

    def _files_info(self, params: Json) -> Json:
        stored = self._files.get(str(_required(params, "file", "file_not_found")))
        if stored is None:
            raise _ApiError("file_not_found")
        return {"file": self._file_object(stored), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _person(self, user_id: str) -> Json:
        """users.info's facts about a user; user_not_found for an id that is not one."""
        known = self._people.get(user_id, {"exists": True, "is_bot": False, "deleted": False})
        if not _USER_ID.match(user_id) or not known["exists"]:
            raise _ApiError("user_not_found")
        return {"is_bot": known["is_bot"] or user_id == self.bot_user_id, "deleted": known["deleted"]}

    def _usergroups_users_list(self, params: Json) -> Json:
        group = str(_required(params, "usergroup", "no_such_subteam"))
        if group not in self._usergroups:
            raise _ApiError("no_such_subteam")
        return {"users": list(self._usergroups[group])}

    def _users_lookup_by_email(self, params: Json) -> Json:
        """As Slack documents it: needs `users:read.email`; `users_not_found` for an address nobody in the
        workspace has; otherwise the same user object as users.info, with the address in its profile."""
        if "users:read.email" not in self.scopes:
            raise _ApiError("missing_scope", needed="users:read.email", provided=",".join(self.scopes))
        email = str(_required(params, "email", "invalid_email")).strip().lower()
        user_id = self._emails.get(email)
        if user_id is None:
            raise _ApiError("users_not_found")
        user = self._users_info({"user": user_id})["user"]
        user["profile"]["email"] = email
        return {"user": user}

    def _users_info(self, params: Json) -> Json:
        user_id = str(_required(params, "user", "user_not_found"))
        person = self._person(user_id)
        is_bot = person["is_bot"]
        name = "replica-bot" if is_bot else f"user-{user_id.lower()}"
        real_name = "replica-bot" if is_bot else f"Fake User {user_id}"
        return {
            "user": {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "deleted": person["deleted"],
                "real_name": real_name,
                "tz": "Europe/Amsterdam",
                "tz_label": "Central European Time",
                "tz_offset": 3600,
                "is_bot": is_bot,
                "is_admin": False,
                "profile": {
                    "real_name": real_name,
                    "display_name": name,
                    "image_72": f"{_PERMALINK_HOST}/avatars/{user_id}_72.png",
                },
            }
        }

    def _reactions_add(self, params: Json) -> Json:
        channel = str(_required(params, "channel", "channel_not_found"))
        ts = str(_required(params, "timestamp", "message_not_found"))
        name = str(_required(params, "name", "invalid_name"))
        message = self._find(channel, ts)
        if message is None:
            raise _ApiError("message_not_found")
        if name in message["reactions"]:
            raise _ApiError("already_reacted")
        message["reactions"].append(name)
        return {}

    def _download(self, key: str, path: str, authorization: str) -> Response:
        team_id, _, file_id = key.partition("-")
        with self._lock:
            stored = self._files.get(file_id)
            name = path.removeprefix("download/")
            if stored is None or team_id != self.team_id or name != stored.name:
                return HTMLResponse("<!DOCTYPE html><html><body><h1>File not found</h1></body></html>", 404)
            scheme, _, token = authorization.partition(" ")
            authorised = scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), self.bot_token)
            if not authorised or not self.files_read_scope:
                # Slack answers an unauthorised file download with its sign-in page and status 200.
                stored.refused_downloads += 1
                return HTMLResponse(_SIGN_IN_PAGE, 200)
            stored.downloads += 1
            disposition = "attachment" if path.startswith("download/") else "inline"
            return Response(
                stored.content,
                media_type=stored.mimetype,
                headers={"Content-Disposition": f'{disposition}; filename="{stored.name}"'},
            )

    def _record_response_post(self, response_id: str, raw: bytes) -> Response:
        with self._lock:
            if response_id not in self._response_ids:
                return PlainTextResponse("expired_url", 404)
            try:
                body: Any = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = raw.decode("utf-8", "replace")
            accepted = self._response_ids[response_id] < _RESPONSE_URL_MAX_POSTS
            self._response_posts.append(
                {
                    "id": response_id,
                    "url": f"{self.base_url}/response/{response_id}",
                    "body": body,
                    "accepted": accepted,
                    "time": time.time(),
                }
            )
            if not accepted:
                return PlainTextResponse("used_url", 404)
            self._response_ids[response_id] += 1
            return PlainTextResponse("ok")

    # ------------------------------------------------------------------ HTTP

    def _routes(self) -> list[Route]:
        return [
            Route("/api/{method}", self._http_api, methods=["GET", "POST"]),
            Route("/files-pri/{key}/{path:path}", self._http_file, methods=["GET"]),
            Route("/response/{response_id}", self._http_response, methods=["POST"]),
            Route("/_fake/calls", self._http_calls, methods=["GET"]),
            Route("/_fake/messages/{channel}", self._http_messages, methods=["GET"]),
            Route("/_fake/thread/{channel}/{ts}", self._http_thread, methods=["GET"]),
            Route("/_fake/ephemerals", self._http_ephemerals, methods=["GET"]),
            Route("/_fake/views", self._http_views, methods=["GET"]),
            Route("/_fake/home/{user_id}", self._http_home, methods=["GET"]),
            Route("/_fake/response_posts", self._http_response_posts, methods=["GET"]),
            Route("/_fake/inject", self._http_inject, methods=["POST"]),
            Route("/_fake/channel_error", self._http_channel_error, methods=["POST"]),
            Route("/_fake/files", self._http_add_file, methods=["POST"]),
            Route("/_fake/response_url", self._http_response_url, methods=["POST"]),
            Route("/_fake/reset", self._http_reset, methods=["POST"]),
            Route("/_fake/scopes", self._http_scopes, methods=["POST"]),
        ]

    async def _http_api(self, request: Request) -> Response:
        method = request.path_params["method"]
        params: Json = dict(request.query_params)
        raw = await request.body()
        content_type = request.headers.get("content-type", "").lower()
        body_error: str | None = None
        if raw and content_type.startswith("application/json"):
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                body, body_error = {}, "invalid_json"
            if isinstance(body, dict):
                params.update(body)
            else:
                body_error = "json_not_object"
        elif raw:
            params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        params.pop("token", None)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        reply = self._handle_api(method, params, bearer, request.method, body_error)
        if delay := self._take_delay(method):
            await asyncio.sleep(delay)
        if isinstance(reply.body, str):
            return PlainTextResponse(reply.body, reply.status, headers=reply.headers)
        return JSONResponse(reply.body, reply.status, headers=reply.headers)

    async def _http_file(self, request: Request) -> Response:
        if delay := self._take_delay(FILE_DOWNLOAD):
            await asyncio.sleep(delay)
        return self._download(
            request.path_params["key"], request.path_params["path"], request.headers.get("authorization", "")
        )

    async def _http_response(self, request: Request) -> Response:
        return self._record_response_post(request.path_params["response_id"], await request.body())

    async def _http_calls(self, request: Request) -> Response:
        return JSONResponse({"calls": self.calls(request.query_params.get("method"))})

    async def _http_messages(self, request: Request) -> Response:
        return JSONResponse({"messages": self.messages(request.path_params["channel"])})

    async def _http_thread(self, request: Request) -> Response:
        return JSONResponse(
            {"messages": self.thread(request.path_params["channel"], request.path_params["ts"])}
        )

    async def _http_ephemerals(self, request: Request) -> Response:
        return JSONResponse({"ephemerals": self.ephemerals(request.query_params.get("channel"))})

    async def _http_views(self, request: Request) -> Response:
        return JSONResponse({"views": self.views()})

    async def _http_home(self, request: Request) -> Response:
        return JSONResponse({"views": self.home_views(request.path_params["user_id"])})

    async def _http_response_posts(self, request: Request) -> Response:
        return JSONResponse({"posts": self.response_url_posts()})

    async def _http_inject(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            self.inject(
                str(body["method"]),
                status=int(body.get("status", 200)),
                error=body.get("error"),
                retry_after=body.get("retry_after"),
                count=int(body.get("count", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": f"bad inject request: {exc}"}, 400)
        return JSONResponse({"ok": True})

    async def _http_channel_error(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            self.set_channel_error(str(body["channel"]), body.get("error"))
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": f"bad channel_error request: {exc}"}, 400)
        return JSONResponse({"ok": True})

    async def _http_add_file(self, request: Request) -> Response:
        query = request.query_params
        file = self.add_file(
            await request.body(),
            name=query.get("name", "photo.png"),
            mimetype=query.get("mimetype", request.headers.get("content-type", "image/png")),
            filetype=query.get("filetype", "png"),
            user=query.get("user", "U123"),
        )
        return JSONResponse({"ok": True, "file": file})

    async def _http_response_url(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "url": self.response_url()})

    async def _http_scopes(self, request: Request) -> Response:
        try:
            scopes = json.loads(await request.body())["scopes"]
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": f"bad scopes request: {exc}"}, 400)
        with self._lock:
            self.scopes = [str(scope) for scope in scopes]
        return JSONResponse({"ok": True})

    async def _http_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})


class SlackFakeServer(ThreadedServer):
    """Serves a SlackFake with uvicorn in a daemon thread; port 0 picks a free port."""

    def __init__(self, fake: SlackFake | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake if fake is not None else SlackFake()
        super().__init__(self.fake.app, host=host, port=port, name="slack-fake")

    @property
    def api_url(self) -> str:
        # slack_sdk joins method names onto base_url, which needs the trailing slash.
        return f"{self.url}/api/"

    def start(self, timeout: float = 10.0) -> Self:
        super().start(timeout)
        # File links and response URLs the fake hands out point back at this server.
        self.fake.base_url = self.url
        return self


def sign(body: bytes, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature headers for `body` (Content-Type is the caller's), computed the way
    slack_sdk verifies them."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None  # only None without a signing secret
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": ts}


class SlackSender:
    """Plays Slack sending signed requests to the app's /slack/events endpoint."""

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        *,
        team_id: str = "T0001",
        api_app_id: str = "A0001",
        client: httpx.Client | None = None,
        bot_user_id: str = "UBOT",
    ) -> None:
        self.events_url = app_url.rstrip("/") + "/slack/events"
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=10.0)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> SlackSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {
            "Content-Type": content_type,
            **sign(body, self.signing_secret, timestamp),
            **(extra or {}),
        }
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        return self._client.post(self.events_url, content=body, headers=headers, timeout=10.0)

    def command(
        self,
        text: str,
        *,
        user_id: str = "U123",
        channel_id: str = "C123",
        command: str = "/replica",
        response_url: str | None = None,
        trigger_id: str = "trig-1",
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        """A slash command, form-encoded like Slack sends it.

        Without `response_url` the command carries one on a host that never resolves; pass
        `fake.response_url()` when the app is expected to use it.
        """
        form = {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel_id.startswith("D") else "fake-channel",
            "user_id": user_id,
            "user_name": f"user-{user_id.lower()}",
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or f"https://hooks.slack.invalid/commands/{self.team_id}/0/unset",
            "trigger_id": trigger_id,
        }
        return self._post(
            urlencode(form).encode(),
            "application/x-www-form-urlencoded",
            timestamp=timestamp,
            signature=signature,
        )

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> httpx.Response:
        """An Events API `event_callback` envelope around `event`."""
        envelope = {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        extra: dict[str, str] = {}
        if retry_num is not None:
            extra["X-Slack-Retry-Num"] = str(retry_num)
            extra["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        elif retry_reason is not None:
            extra["X-Slack-Retry-Reason"] = retry_reason
        return self._post(json.dumps(envelope).encode(), "application/json", extra=extra)

    def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        """An interactivity request (`payload=<json>`); team, app and user default to this sender's."""
        full = {
            "team": {"id": self.team_id, "domain": "fake"},
            "user": {"id": "U123", "username": "user-u123", "name": "user-u123", "team_id": self.team_id},
            "api_app_id": self.api_app_id,
            "token": "fake-verification-token",
            "is_enterprise_install": False,
            "enterprise": None,
            **payload,
        }
        body = urlencode({"payload": json.dumps(full)}).encode()
        return self._post(body, "application/x-www-form-urlencoded")

    def raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """Post `body` with exactly `headers` (nothing signed), e.g. to test signature checks."""
        return self._client.post(self.events_url, content=body, headers=headers, timeout=10.0)
