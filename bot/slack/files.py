"""Getting the bytes of a photo someone shared in Slack (`files:read`, bot token)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.photos.download import fetch_url
from bot.photos.refusals import FetchRefusal, PreflightRefusal

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "gif", "webp", "heic", "bmp", "tiff"}
# What a batch's CSV may be called or typed as (its content decides whether it really is one).
CSV_TYPES = {"text/csv", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel"}


@dataclass(frozen=True)
class SlackFile:
    id: str
    name: str
    mimetype: str
    url: str | None

    @classmethod
    def from_payload(cls, file: dict[str, Any]) -> SlackFile:
        return cls(
            id=str(file.get("id", "")),
            name=str(file.get("name") or file.get("title") or "photo"),
            mimetype=str(file.get("mimetype") or ""),
            url=file.get("url_private_download") or file.get("url_private"),
        )


def photo_files(files: list[dict[str, Any]] | None) -> list[SlackFile]:
    """The files that look like pictures (preflight decides whether they really are JPG/PNG)."""
    found = []
    for file in files or []:
        slack_file = SlackFile.from_payload(file)
        extension = slack_file.name.rsplit(".", 1)[-1].lower() if "." in slack_file.name else ""
        if slack_file.mimetype.startswith("image/") or extension in IMAGE_EXTENSIONS:
            found.append(slack_file)
    return found


def csv_files(files: list[dict[str, Any]] | None) -> list[SlackFile]:
    """The files that are meant as a batch: named `.csv`, or typed as CSV by Slack."""
    found = []
    for file in files or []:
        slack_file = SlackFile.from_payload(file)
        filetype = str(file.get("filetype") or "").lower()
        if slack_file.name.lower().endswith(".csv") or filetype == "csv" or slack_file.mimetype in CSV_TYPES:
            found.append(slack_file)
    return found


class SlackFileDownloader:
    def __init__(self, token: str, api_url: str, *, max_bytes: int) -> None:
        self._token = token
        self._max_bytes = max_bytes
        # The bot token only ever goes to Slack: its API host (a local fake in tests) or *.slack.com.
        self._trusted_host = httpx.URL(api_url).host

    def download(self, file: SlackFile, *, max_bytes: int | None = None) -> bytes:
        if not file.url:
            raise FetchRefusal("download_failed", cause="no_link")
        host = httpx.URL(file.url).host
        if host != self._trusted_host and not (host == "slack.com" or host.endswith(".slack.com")):
            log.warning("refusing to send the bot token to %s", host)
            raise FetchRefusal("bad_url", cause="not_slack")
        fetched = fetch_url(
            file.url,
            allow_private=True,  # the link comes from Slack's signed payload, not from the person
            max_bytes=max_bytes or self._max_bytes,
            headers={"Authorization": f"Bearer {self._token}"},
        )
        if _looks_like_html(fetched.content):
            log.error("Slack answered a file download with HTML: the token lacks files:read or is invalid")
            raise PreflightRefusal("html_page", cause="slack_sign_in")
        return fetched.content


def _looks_like_html(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<!--"))


def file_payload(file: SlackFile) -> dict[str, Any]:
    """What to keep of a file in a view's private_metadata, to download it after the form is submitted."""
    return {"id": file.id, "name": file.name, "mimetype": file.mimetype, "url_private_download": file.url}


class SlackFiles:
    """Files shared in Slack, by id (a batch's CSV and photos, read after the ack or after a restart)."""

    def __init__(self, client: WebClient, downloader: SlackFileDownloader) -> None:
        self._client = client
        self._downloader = downloader

    def read(self, file_id: str, *, max_bytes: int) -> bytes:
        try:
            info = self._client.files_info(file=file_id)["file"]
        except SlackApiError as exc:
            log.info("files.info %s: %s", file_id, exc.response.get("error"))
            raise FetchRefusal("download_failed", cause="no_link") from None
        return self._downloader.download(SlackFile.from_payload(info), max_bytes=max_bytes)
