"""Which family of Tavus paths this process speaks: `/v2/faces` (the current names) or the legacy
`/v2/replicas` aliases, and how a 404 tells "this path does not exist" from "this face does not exist".

The rule, in full:
- A 404 on a collection path (`POST /v2/faces`, `GET /v2/faces`) can only mean the path is missing: those
  calls name no face. The call is repeated on `/v2/replicas`, and the process stays there.
- A 404 on a face's own path (`/v2/faces/{id}`) is ambiguous: the face may be gone, or the path missing
  (an older account, a proxy that forwards only the old routes). It is checked once on the legacy path for
  the same id. If the legacy path knows the id, `/v2/faces` is what is missing: the process switches. If
  the legacy path answers 404 too, the face really is gone, and the process keeps speaking `/v2/faces`.
The switch happens once per process and is logged once; nothing switches back until a restart.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

from bot.tavus.errors import TavusNotFound

log = logging.getLogger(__name__)

T = TypeVar("T")

# Told of every HTTP call to Tavus: its endpoint (`GET /v2/faces/{id}`: never an id) and the HTTP status,
# or `error` when no answer came.
CallObserver = Callable[[str, str], None]
_ONE_FACE = re.compile(r"^(/v2/(?:faces|replicas))/(?!image-validation$)[^/]+(/name)?$")
_KNOWN = re.compile(r"^/v2/(?:faces|replicas)(?:/image-validation)?$")


def endpoint_of(method: str, path: str) -> str:
    """`GET /v2/faces/{id}` for `GET /v2/faces/r90bbd427f71`: a label that takes only a few values."""
    if match := _ONE_FACE.match(path):
        return f"{method} {match.group(1)}/{{id}}{match.group(2) or ''}"
    return f"{method} {path}" if _KNOWN.match(path) else f"{method} other"


@dataclass(frozen=True)
class PathFamily:
    """One family's collection path and the names its bodies use."""

    collection: str
    id_field: str
    name_field: str

    def item(self, face_id: str) -> str:
        if not face_id:
            raise ValueError("replica_id must not be empty")
        # Ids come from Slack users and stored rows; quoting stops "../" from reaching other endpoints.
        return f"{self.collection}/{quote(face_id, safe='')}"


FACES = PathFamily("/v2/faces", "face_id", "face_name")
REPLICAS = PathFamily("/v2/replicas", "replica_id", "replica_name")


class PathChoice:
    """The family in use, shared by every thread of one client."""

    def __init__(self, *, legacy: bool = False) -> None:
        self._lock = threading.Lock()
        self._family = REPLICAS if legacy else FACES

    @property
    def family(self) -> PathFamily:
        return self._family

    @property
    def legacy(self) -> bool:
        return self._family is REPLICAS

    def fall_back(self, method: str, path: str) -> None:
        """`/v2/faces` is missing here: use the legacy paths from now on (logged the first time only)."""
        with self._lock:
            if self._family is REPLICAS:
                return
            self._family = REPLICAS
        log.warning(
            "Tavus answered %s %s with 404: this account or proxy has no /v2/faces; using the legacy "
            "/v2/replicas paths for the rest of this process",
            method,
            path,
        )

    def on_collection(
        self, method: str, send: Callable[[PathFamily], T], *, family: PathFamily | None = None
    ) -> tuple[PathFamily, T]:
        """`send` on the collection path of `family` (default: the one in use), falling back on a 404."""
        used = family or self._family
        try:
            return used, send(used)
        except TavusNotFound:
            if used is REPLICAS:
                raise
        self.fall_back(method, used.collection)
        # A 404 proves the call was not carried out, so repeating it cannot make a second face.
        return REPLICAS, send(REPLICAS)

    def on_item(self, method: str, face_id: str, send: Callable[[PathFamily], T]) -> T:
        """`send` on one face's path; a 404 is believed only once the legacy path agrees."""
        family = self._family
        try:
            return send(family)
        except TavusNotFound:
            if family is REPLICAS:
                raise
        answer = send(REPLICAS)  # raises TavusNotFound when the face is gone under both names
        self.fall_back(method, family.item(face_id))
        return answer
