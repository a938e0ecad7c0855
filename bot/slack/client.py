"""The Web API client every part of the bot talks to Slack through, aimed at SLACK_API_URL."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler


def slack_client(token: str, base_url: str, *, retry_rate_limits: bool) -> WebClient:
    """Listener replies retry 429/5xx in place (`retry_rate_limits`); the outbox does not, because it
    reschedules instead of sleeping while it holds a lease."""
    client = WebClient(token=token, base_url=base_url, timeout=10)
    if retry_rate_limits:
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
        client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    return client
