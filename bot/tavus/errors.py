"""What can go wrong talking to Tavus, by who can fix it: the operator (auth), the requester (a bad
request), nobody right now (unavailable), or nobody at all (the replica is gone)."""

from __future__ import annotations

import httpx

_MAX_REASON_CHARS = 300


class TavusError(Exception):
    """Base class. ``str()`` is a summary that is safe to log: it never contains the API key."""

    def __init__(self, summary: str, *, status_code: int | None = None) -> None:
        super().__init__(summary)
        self.status_code = status_code


class TavusAuthError(TavusError):
    """401/403: the operator's API key or account is the problem, not the request."""


class TavusBadRequest(TavusError):
    """400/422: Tavus refused the request; ``message`` is its reason, fit to show the requester."""

    def __init__(self, summary: str, *, message: str, status_code: int | None = None) -> None:
        super().__init__(summary, status_code=status_code)
        self.message = message


class TavusNotFound(TavusError):
    """404: the replica does not exist (or was deleted)."""


class TavusUnavailable(TavusError):
    """Tavus could not be reached or kept failing (429/5xx/network) after all retries."""


def error_reason(response: httpx.Response) -> str:
    """Best human-readable reason from an error body, whatever shape it has."""
    reason = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                reason = value.strip()
                break
            if isinstance(value, list) and value:
                # FastAPI-style validation details: a list of {"msg": …} objects.
                parts = [
                    str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in value
                ]
                reason = "; ".join(parts)
                break
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                reason = value["message"]
                break
    elif isinstance(body, str):
        reason = body.strip()
    if not reason and body is None:
        reason = response.text.strip()
    if not reason:
        reason = response.reason_phrase or f"HTTP {response.status_code}"
    if len(reason) > _MAX_REASON_CHARS:
        reason = reason[: _MAX_REASON_CHARS - 1] + "…"
    return reason
