"""Small recording stand-ins for what Bolt hands a listener: `ack`, `respond` and the Web API `client`.

They subclass the real Bolt and SDK types, so listeners get what their annotations say, and record
every call with its keyword arguments. `RecordingClient` replaces only `api_call`, the one place every
Web API method goes through, so the SDK's own argument handling still runs. `Jobs` stands in for the
after-ack executor.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt import Ack, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookResponse

from handlers.services import Services

Payload = dict[str, Any]

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"


@dataclass(frozen=True)
class Call:
    # The WebClient method's name, e.g. "chat_postEphemeral".
    method: str
    kwargs: Payload


class RecordingClient(WebClient):
    """A WebClient that records each method called and answers like Slack would, without a network.

    `files` are what `files_info` knows; `errors` makes a method answer `{"ok": False, "error": …}`,
    which the SDK raises as SlackApiError, as it does for a real answer.
    """

    def __init__(self, *, files: Mapping[str, Payload] | None = None) -> None:
        super().__init__(token="xoxb-test")
        self.calls: list[Call] = []
        self.files: dict[str, Payload] = dict(files or {})
        self.errors: dict[str, str] = {}
        self._serial = itertools.count(1)

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> SlackResponse:
        method = api_method.replace(".", "_")
        kwargs = {**(params or {}), **(data or {}), **(json or {})}
        self.calls.append(Call(method, kwargs))
        error = self.errors.get(method)
        answer = self._answer(method, kwargs)
        body = {"ok": False, "error": error} if error else answer
        response = SlackResponse(
            client=self,
            http_verb=http_verb,
            api_url=f"{self.base_url}{api_method}",
            req_args={"json": kwargs},
            data=body,
            headers={},
            status_code=200,
        )
        return response.validate()

    def called(self, method: str) -> list[Payload]:
        """The keyword arguments of every call to `method`, in order."""
        return [call.kwargs for call in self.calls if call.method == method]

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    def _answer(self, method: str, kwargs: Payload) -> Payload:
        ts = f"1.{next(self._serial):04d}"
        if method == "chat_postMessage":
            return {"ok": True, "channel": kwargs.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "chat_postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method in ("views_open", "views_publish"):
            return {"ok": True, "view": {"id": f"V{ts}", **(kwargs.get("view") or {})}}
        if method == "files_info":
            file = self.files.get(str(kwargs.get("file")))
            return {"ok": True, "file": file} if file else {"ok": False, "error": "file_not_found"}
        if method == "auth_test":
            return {"ok": True, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": TEAM_ID}
        return {"ok": True}


Job = Callable[[], None]


class Jobs(list[Job]):
    """Intake's `run_later`: `jobs.append` collects what would run after the ack, in order, and
    `run_all` runs it when the test wants to."""

    def run_all(self) -> None:
        while self:
            self.pop(0)()


class MakeServices(Protocol):
    """The `make_services` fixture: Services for a deployment taking requests only in `allowed_channels`
    (empty: everywhere), with `admins`."""

    def __call__(
        self, *, allowed_channels: tuple[str, ...] = (), admins: tuple[str, ...] = ()
    ) -> Services: ...


class RecordingAck(Ack):
    """Bolt's own ack (so its response is built as usual), recording each call. `before` runs at the
    start of every call: it sees the world as it is when the ack is sent."""

    def __init__(self, before: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.calls: list[Payload] = []
        self._before = before

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        if self._before is not None:
            self._before()
        self.calls.append({"text": args[0], **kwargs} if args else dict(kwargs))
        return super().__call__(*args, **kwargs)

    @property
    def once(self) -> Payload:
        """The keyword arguments of the one call; fails unless ack was called exactly once."""
        assert len(self.calls) == 1, f"ack called {len(self.calls)} times: {self.calls}"
        return self.calls[0]


class RecordingRespond(Respond):
    """`respond` (the response_url) recording each call instead of posting it."""

    def __init__(self) -> None:
        super().__init__(response_url="https://hooks.slack.test/commands/T1/1/secret")
        self.calls: list[Payload] = []

    def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse:
        self.calls.append({"text": args[0], **kwargs} if args else dict(kwargs))
        return WebhookResponse(url=self.response_url or "", status_code=200, body="ok", headers={})
