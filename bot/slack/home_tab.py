"""Publishing the App Home tab: each person's replica requests, and everyone's (with filters) for admins.

Published when someone opens the tab, and refreshed for the requester whenever their card changes, so the
tab is current without anyone asking. A refresh is best effort: the next one, or opening the tab, repairs
a missed one.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.access import Access
from bot.domain.catalogue import Catalogue
from bot.domain.verdict_stats import verdict_stats
from bot.slack.render import HOME_FILTERS, HOME_LIMIT, home_view
from storage.db import Engine
from storage.repository import replica_requests

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
