"""What can go wrong talking to Tavus, by who can fix it: the operator (auth), the requester (a bad
request), nobody right now (unavailable), or nobody at all (the replica is gone)."""

from __future__ import annotations


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
