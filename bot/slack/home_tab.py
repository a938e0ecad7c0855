"""Publishing the App Home tab: each person's replica requests, and everyone's (with filters) for admins.

Published when someone opens the tab, and refreshed for the requester whenever their card changes, so the
tab is current without anyone asking. A refresh is best effort: the next one, or opening the tab, repairs
a missed one.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.access import Access
from bot.domain.catalogue import Catalogue
from bot.domain.verdict_stats import verdict_stats
from bot.slack.pacing import PUBLISH, NotNow, PacedCalls
from bot.slack.render import HOME_FILTERS, HOME_LIMIT, home_view
from storage.db import Engine
from storage.repository import batches, replica_requests

log = logging.getLogger(__name__)


class HomePublisher:
    def __init__(self, engine: Engine, catalogue: Catalogue, access: Access) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._access = access

    def view(self, user_id: str, view_filter: str | None = None) -> dict[str, Any]:
        is_admin = self._access.is_admin(user_id)
        # Filters are for admins, who see everyone's requests; a person sees all of their own.
        active = view_filter if is_admin and view_filter in HOME_FILTERS else "all"
        statuses = HOME_FILTERS[active][1]
        requests = replica_requests.recent(
            self._engine,
            requester_id=None if is_admin else user_id,
            statuses=statuses,
            limit=HOME_LIMIT + 1,
        )
        return home_view(
            requests, is_admin=is_admin, catalogue=self._catalogue, active_filter=active, viewer=user_id,
            stats=verdict_stats(self._engine) if is_admin else None,
            asked=replica_requests.waiting_for(self._engine, user_id),
            asked_batches=batches.waiting_for_approval_of(self._engine, user_id),
            batches=batches.recent_views(self._engine, requester_id=None if is_admin else user_id),
        )

    def publish(self, client: WebClient, user_id: str, view_filter: str | None = None) -> None:
        client.views_publish(user_id=user_id, view=self.view(user_id, view_filter))

    def refresh(self, client: WebClient, user_id: str) -> None:
        """Republish after a change; never raises, since the notification that triggered it matters more."""
        try:
            self.publish(client, user_id)
        except SlackApiError as exc:
            log.warning("could not refresh the home tab of %s: %s", user_id, exc.response.get("error"))
        except (SlackClientError, OSError) as exc:
            log.warning("could not refresh the home tab of %s: %s", user_id, type(exc).__name__)


class HomeRefreshes:
    """Whose App Home needs republishing after their card changed: collected during a delivery pass, then
    published within the views.publish budget. Whoever does not fit waits for a later pass (one
    republish each, whatever changed meanwhile); a refresh never holds up a notification."""

    def __init__(self, publisher: HomePublisher, calls: PacedCalls) -> None:
        self._publisher = publisher
        self._calls = calls
        self._lock = threading.Lock()
        self._due: dict[str, str | None] = {}

    def add(self, user_id: str, team: str | None) -> None:
        with self._lock:
            self._due[user_id] = team

    def publish_due(self, client: WebClient) -> int:
        """Publish as many as the budget allows now; how many were published."""
        with self._lock:
            due, self._due = self._due, {}
        published = 0
        for user_id in sorted(due):
            team = due[user_id]
            try:
                self._calls.call(PUBLISH, team, partial(self._publisher.publish, client, user_id))
                published += 1
            except NotNow:
                # Out of budget: this one and the rest wait for a later pass.
                with self._lock:
                    for later in sorted(due):
                        if later >= user_id:
                            self._due.setdefault(later, due[later])
                break
            except SlackApiError as exc:
                log.warning("could not refresh the home tab of %s: %s", user_id, exc.response.get("error"))
            except (SlackClientError, OSError) as exc:
                log.warning("could not refresh the home tab of %s: %s", user_id, type(exc).__name__)
        return published
