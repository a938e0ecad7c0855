"""Who people are, from Slack: `users.info` (is this a person, active, not an app?),
`usergroups.users.list` (who is in an approvers' group) and `users.lookupByEmail` (who a batch's `for`
column names by e-mail; scope `users:read.email`). Answers are kept for a minute: the same colleague
or group is looked up many times in a burst, and neither changes by the second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.people import Person

T = TypeVar("T")

CACHE_SECONDS = 60.0
_NOT_FOUND = frozenset({"user_not_found", "users_not_found", "user_not_visible"})


class SlackDirectory:
    def __init__(self, client: WebClient, *, cache_seconds: float = CACHE_SECONDS) -> None:
        """`client` retries Slack's 429s in place: a lookup happens while someone waits for an answer."""
        self._client = client
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def person(self, user_id: str) -> Person | None:
        def look_up() -> Person | None:
            try:
                user = self._client.users_info(user=user_id)["user"]
            except SlackApiError as exc:
                if exc.response.get("error") in _NOT_FOUND:
                    return None
                raise
            return Person(str(user["id"]), is_bot=bool(user.get("is_bot")), deleted=bool(user.get("deleted")))

        return self._cached(f"user:{user_id}", look_up)

    def group_members(self, group_id: str) -> tuple[str, ...]:
        def look_up() -> tuple[str, ...]:
            try:
                users = self._client.usergroups_users_list(usergroup=group_id)["users"]
            except SlackApiError as exc:
                if exc.response.get("error") == "no_such_subteam":
                    return ()
                raise
            return tuple(str(u) for u in users or ())

        return self._cached(f"group:{group_id}", look_up)

    def user_by_email(self, email: str) -> str | None:
        def look_up() -> str | None:
            try:
                user = self._client.users_lookupByEmail(email=email)["user"]
            except SlackApiError as exc:
                if exc.response.get("error") in _NOT_FOUND:
                    return None
                raise
            return str(user["id"])

        return self._cached(f"email:{email.lower()}", look_up)

    def _cached(self, key: str, look_up: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            found = self._cache.get(key)
        if found is not None and now - found[0] < self._cache_seconds:
            return found[1]  # type: ignore[return-value]
        value = look_up()
        with self._lock:
            self._cache[key] = (now, value)
        return value
