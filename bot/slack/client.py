"""The Web API client every part of the bot talks to Slack through, aimed at SLACK_API_URL."""

from __future__ import annotations

import re
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler, RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse

# Told of every HTTP call to Slack: the method, and `ok`, `ratelimited` or `error`.
CallObserver = Callable[[str, str], None]
_METHOD = re.compile(r"/api/([a-zA-Z]+(?:\.[a-zA-Z]+)+)(?:[?#]|$)")


def slack_client(
    token: str, base_url: str, *, retry_rate_limits: bool, observe: CallObserver | None = None
) -> WebClient:
    """Listener replies retry 429/5xx in place (`retry_rate_limits`); the outbox does not, because it
    reschedules instead of sleeping while it holds a lease. `observe` hears of every attempt."""
    client = WebClient(token=token, base_url=base_url, timeout=10)
    if observe is not None:
        # First in the list, so it sees every attempt before a retry handler claims it. Bolt copies the
        # list into the client it makes for each request, so listeners' calls are seen too.
        client.retry_handlers.insert(0, ObserveCalls(observe))
    if retry_rate_limits:
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
        client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    return client


class ObserveCalls(RetryHandler):
    """Never retries: slack_sdk asks each retry handler about every answer (and every failure to get
    one), which makes this the one place that sees each HTTP call, whoever made it."""

    def __init__(self, observe: CallObserver) -> None:
        super().__init__(max_retry_count=0)
        self._observe = observe

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        self._observe(method_of(request.url), _outcome(response))
        return False


def method_of(url: str) -> str:
    """The Web API method a URL calls (`chat.postMessage`), or `other`."""
    match = _METHOD.search(url)
    return match.group(1) if match else "other"


def _outcome(response: HttpResponse | None) -> str:
    if response is None:
        return "error"
    if response.status_code == 429:
        return "ratelimited"
    body = response.body if isinstance(response.body, dict) else {}
    return "ok" if response.status_code == 200 and body.get("ok") is True else "error"
