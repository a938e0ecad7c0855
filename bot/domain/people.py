"""The people a request involves besides the requester: the colleague whose face it is, and the approvers.
What the domain needs to know about them comes through `Directory` (Slack's users and user groups, in
`bot.slack.directory`), so the rules here stay free of Slack."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.domain.errors import NoApprover, PersonCannotConsent, PersonProblem

# How Slack writes a user (`<@U123|ana>` or `<@U123>`), and a bare user id.
_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# The words that say whose face it is without naming a colleague (`for=me`, `for=outside`).
SELF_WORDS = frozenset({"me", "myself"})
OUTSIDE_WORDS = frozenset({"outside", "synthetic"})


@dataclass(frozen=True)
class Person:
    user_id: str
    is_bot: bool = False
    deleted: bool = False


class Directory(Protocol):
    def person(self, user_id: str) -> Person | None:
        """The user, or None if there is no such user."""
        ...

    def group_members(self, group_id: str) -> tuple[str, ...]:
        """The members of a user group (S…); empty if there is no such group."""
        ...

    def user_by_email(self, email: str) -> str | None:
        """The user id of the person with this e-mail address, or None if nobody has it."""
        ...


def person_of(text: str) -> str | None:
    """The user a word names: Slack's mention (`<@U123|ana>`, `<@U123>`) or a bare id (`U123`)."""
    mention = _USER_MENTION.match(text.strip())
    if mention:
        return mention.group(1)
    return text.strip() if _USER_ID.match(text.strip()) else None


def require_person(directory: Directory, user_id: str) -> Person:
    """The colleague named as the face, if they are a real, active person who can be asked."""
    person = directory.person(user_id)
    if person is None:
        raise PersonCannotConsent(user_id, PersonProblem.NOT_FOUND)
    if person.is_bot:
        raise PersonCannotConsent(user_id, PersonProblem.BOT)
    if person.deleted:
        raise PersonCannotConsent(user_id, PersonProblem.DEACTIVATED)
    return person


def resolve_approvers(
    directory: Directory, configured: Iterable[str], *, requester_id: str
) -> tuple[str, ...]:
    """Everyone who may approve `requester_id`'s request: the users named and the members of the groups
    named, in order, once each, never the requester. Raises NoApprover when that leaves nobody."""
    approvers: list[str] = []
    for entry in configured:
        members = directory.group_members(entry) if entry.startswith("S") else (entry,)
        approvers += [m for m in members if m not in approvers and m != requester_id]
    if not approvers:
        raise NoApprover()
    return tuple(approvers)


def may_approve(directory: Directory, configured: Iterable[str], user_id: str) -> bool:
    """Whether `user_id` is one of the approvers (named, or in a group named)."""
    for entry in configured:
        if entry == user_id or (entry.startswith("S") and user_id in directory.group_members(entry)):
            return True
    return False
