"""Hosting for photos uploaded to Slack, so Tavus can download them as `train_image_url`.

Tavus fetches the URL itself, from the internet, possibly hours after the request was made, so the URL must
be public and stay valid for 24 h or more. Two backends:

- builtin: the bytes live in the `media_object` table and the bot serves them at
  `{PUBLIC_BASE_URL}/media/{token}`. Any process behind the load balancer can answer, since they share the
  database. Needs a public URL, so not for Socket Mode.
- s3: the bytes go to a bucket and Tavus gets a SigV4 presigned GET URL. The bucket stays private.

Both record what they stored in `media_object` (S3 with empty `data`), so `purge_finished` can delete a
photo once its request is over, instead of keeping people's faces around indefinitely.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot.domain.media import MediaStore, StoredMedia
from bot.service.settings import Settings, SettingsError
from storage.db import Engine
from storage.models import MediaObject
from storage.repository import media_objects

log = logging.getLogger(__name__)

# SigV4 presigned URLs are refused past 7 days; boto3 signs longer ones without complaint.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
# Signed a minute short of the cap, so no URL sits on the exact limit of what S3 accepts.
_PRESIGN_MARGIN_SECONDS = 60
# What Tavus will want to read. Anything else (text/html, image/svg+xml) would let an upload run script
# on the bot's own origin when the builtin store serves it.
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
}
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
# Exactly what secrets.token_urlsafe(32) yields; checked before the database sees the token.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
S3_KEY_PREFIX = "replica-bot"
# Tavus may download a few hours after the request; shorter URLs are a misconfiguration worth shouting about.
_TAVUS_MIN_TTL = timedelta(hours=24)


class MediaNotFound(LookupError):
    """`attach` was given a key this store has no record of (never stored, or already purged)."""


def normalize_content_type(content_type: str) -> str:
    """`image/JPEG; q=1` → `image/jpeg`; ValueError for a type the stores will not host."""
    base = content_type.split(";", 1)[0].strip().lower()
    base = _ALIASES.get(base, base)
    if base not in _EXTENSIONS:
        raise ValueError(f"unsupported media type: {content_type!r}")
    return base


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime; pass a timezone-aware UTC time")
    return now.astimezone(UTC)


def _attach(engine: Engine, key: str, request_id: int) -> None:
    if not media_objects.attach(engine, key, request_id):
        raise MediaNotFound(key)


class BuiltinMediaStore:
    """Bytes in the database, served by the bot at `{public_base_url}/media/{token}`."""

    def __init__(self, engine: Engine, public_base_url: str, *, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self.engine = engine
        self.public_base_url = public_base_url.rstrip("/")
        self.ttl = ttl

    def url_for(self, token: str) -> str:
        return f"{self.public_base_url}/media/{token}"

    def put(self, data: bytes, content_type: str, *, request_id: int | None = None) -> StoredMedia:
        content_type = normalize_content_type(content_type)
        if not data:
            # Empty data is how the S3 store's bookkeeping rows look; a real photo is never empty.
            raise ValueError("no media to store")
        now = datetime.now(UTC)
        # The token is the only secret guarding the photo: 256 bits, never derived from the content.
        token = secrets.token_urlsafe(32)
        row = MediaObject(
            token=token,
            request_id=request_id,
            content_type=content_type,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            created_at=now,
            expires_at=now + self.ttl,
        )
        media_objects.add(self.engine, row)
        return StoredMedia(key=token, url=self.url_for(token), expires_at=row.expires_at)

    def attach(self, key: str, request_id: int) -> None:
        _attach(self.engine, key, request_id)

    def get(self, token: str, *, now: datetime | None = None) -> tuple[bytes, str] | None:
        found = self.hosted(token, now=now)
        return None if found is None else (found[0], found[1])

    def hosted(self, token: str, *, now: datetime | None = None) -> tuple[bytes, str, datetime] | None:
        """(bytes, content type, expiry) to serve for `token`, or None for an unknown or expired one."""
        if not _TOKEN_RE.fullmatch(token):
            return None
        return media_objects.hosted(self.engine, token, now=_utc(now))

    def read(self, key: str) -> bytes | None:
        found = self.get(key)
        return None if found is None else found[0]

    def erase(self, request_ids: Sequence[int]) -> int:
        return media_objects.forget(self.engine, media_objects.of_requests(self.engine, request_ids))

    def purge_finished(self, *, retention: timedelta, now: datetime | None = None) -> int:
        deleted = media_objects.purge_hosted(self.engine, now=_utc(now), retention=retention)
        if deleted:
            log.info("purged %d hosted photos", deleted)
        return deleted


class S3MediaStore:
    """Objects in a private bucket behind SigV4 presigned URLs.

    With an engine, every object is recorded in `media_object` (empty `data`) so `purge_finished` knows
    which request it belongs to without listing the bucket or tagging objects. Without one, `attach` and
    `purge_finished` do nothing and a bucket lifecycle rule on the `replica-bot/` prefix is the only cleanup.
    """

    def __init__(
        self,
        *,
        bucket: str,
        ttl: timedelta,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any | None = None,
        engine: Engine | None = None,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self.bucket = bucket
        self.ttl = ttl
        self.engine = engine
        self.expires_in = min(int(ttl.total_seconds()), MAX_PRESIGN_SECONDS - _PRESIGN_MARGIN_SECONDS)
        if int(ttl.total_seconds()) > self.expires_in:
            log.warning(
                "MEDIA_URL_TTL_HOURS exceeds what a SigV4 presigned URL allows; URLs will last %d s",
                self.expires_in,
            )
        self.client = client if client is not None else _make_client(endpoint_url, region)

    def put(self, data: bytes, content_type: str, *, request_id: int | None = None) -> StoredMedia:
        content_type = normalize_content_type(content_type)
        if not data:
            raise ValueError("no media to store")
        now = datetime.now(UTC)
        key = f"{S3_KEY_PREFIX}/{now:%Y/%m/%d}/{secrets.token_hex(16)}{_EXTENSIONS[content_type]}"
        # Taken before signing, so it is never later than the expiry S3 computes from X-Amz-Date.
        expires_at = now + timedelta(seconds=self.expires_in)
        # Row before object: an upload that fails leaves a row purge cleans up (deleting a missing object
        # succeeds), never an object nothing knows about.
        if self.engine is not None:
            row = MediaObject(
                token=key,
                request_id=request_id,
                content_type=content_type,
                data=b"",
                sha256=hashlib.sha256(data).hexdigest(),
                created_at=now,
                expires_at=expires_at,
            )
            media_objects.add(self.engine, row)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        url = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.expires_in
        )
        if "X-Amz-Algorithm=AWS4-HMAC-SHA256" not in url:
            # A client built without signature_version="s3v4" may sign SigV2, which newer regions refuse.
            raise RuntimeError(
                "the S3 client must sign with SigV4 (botocore Config(signature_version='s3v4'))"
            )
        return StoredMedia(key=key, url=url, expires_at=expires_at)

    def attach(self, key: str, request_id: int) -> None:
        if self.engine is not None:
            _attach(self.engine, key, request_id)

    def read(self, key: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception:
            log.warning("could not read s3://%s/%s", self.bucket, key, exc_info=True)
            return None
        return body

    def erase(self, request_ids: Sequence[int]) -> int:
        """Delete the objects of these requests, then their records (object first, as in `purge_finished`)."""
        if self.engine is None:
            return 0
        return self._delete(media_objects.of_requests(self.engine, request_ids, records_only=True))

    def purge_finished(self, *, retention: timedelta, now: datetime | None = None, batch: int = 500) -> int:
        """Delete the objects of finished requests, and those whose URL has expired (nobody can fetch them).

        Object first, row second: a crash in between leaves a row, and the next run deletes the object
        again, which S3 treats as success. Several processes may run this at once for the same reason.
        """
        if self.engine is None:
            return 0
        now = _utc(now)
        keys = media_objects.purgeable_records(self.engine, now=now, retention=retention, limit=batch)
        deleted = self._delete(keys)
        if deleted:
            log.info("purged %d photos from s3://%s", deleted, self.bucket)
        return deleted

    def _delete(self, keys: Sequence[str]) -> int:
        """Delete these objects, then the records of those that went; how many went."""
        assert self.engine is not None
        done: list[str] = []
        for key in keys:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            except Exception:
                # Kept for the next run; one bad key must not stop the rest.
                log.warning("could not delete s3://%s/%s", self.bucket, key, exc_info=True)
                continue
            done.append(key)
        return media_objects.forget(self.engine, done) if done else 0


def _make_client(endpoint_url: str | None, region: str | None) -> Any:
    # Imported here so builtin deployments do not pay boto3's import time at start.
    import boto3
    from botocore.config import Config

    config = Config(
        # Some regions still presign with SigV2 by default.
        signature_version="s3v4",
        # botocore ≥ 1.36 adds CRC checksums to every upload, which several S3-compatible services
        # (the usual reason for S3_ENDPOINT_URL) reject.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=30,
    )
    session = boto3.session.Session()
    _check_credentials(session)
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def _check_credentials(session: Any) -> None:
    credentials = session.get_credentials()
    if credentials is None:
        # Otherwise the first upload would fail inside a Slack listener instead of at start.
        raise SettingsError(
            "no AWS credentials for MEDIA_BACKEND=s3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or AWS_PROFILE)"
        )
    # A presigned URL dies with the credentials that signed it: a role's session (ECS, EC2, SSO) often lasts
    # 1–12 h, less than the 24 h Tavus may take to download.
    if credentials.get_frozen_credentials().token:
        log.warning(
            "S3 media uses temporary AWS credentials; presigned URLs expire with them, possibly before "
            "Tavus downloads the photo. Use long-term keys of an IAM user limited to the media bucket."
        )


def build_media_store(settings: Settings, engine: Engine, *, socket_mode: bool = False) -> MediaStore:
    ttl = timedelta(hours=settings.media_url_ttl_hours)
    if ttl < _TAVUS_MIN_TTL:
        log.warning(
            "MEDIA_URL_TTL_HOURS=%s is under the 24 h Tavus may take to download", ttl / timedelta(hours=1)
        )
    if settings.media_backend == "s3":
        if not settings.s3_bucket:
            raise SettingsError("S3_BUCKET is not set: MEDIA_BACKEND=s3 needs a bucket for uploaded photos")
        endpoint = str(settings.s3_endpoint_url).rstrip("/") if settings.s3_endpoint_url else None
        return S3MediaStore(
            bucket=settings.s3_bucket,
            ttl=ttl,
            endpoint_url=endpoint,
            region=settings.s3_region,
            engine=engine,
        )
    if socket_mode:
        raise SettingsError(
            "MEDIA_BACKEND=builtin cannot work in Socket Mode: there is no public URL for Tavus to download "
            "uploaded photos from; set MEDIA_BACKEND=s3 and S3_BUCKET"
        )
    if settings.public_base_url is None:
        raise SettingsError(
            "PUBLIC_BASE_URL is not set: MEDIA_BACKEND=builtin serves uploaded photos to Tavus from it "
            "(or set MEDIA_BACKEND=s3)"
        )
    return BuiltinMediaStore(engine, str(settings.public_base_url), ttl=ttl)


def media_endpoint(store: BuiltinMediaStore) -> Callable[[Request], Awaitable[Response]]:
    """GET /media/{token}: the photo, or a bare 404 that does not tell unknown from expired."""

    async def endpoint(request: Request) -> Response:
        token = str(request.path_params.get("token", ""))
        found = await run_in_threadpool(store.hosted, token)
        if found is None:
            return Response(status_code=404)
        data, content_type, expires_at = found
        max_age = max(0, int((expires_at - datetime.now(UTC)).total_seconds()))
        return Response(
            data,
            media_type=content_type,
            headers={
                "Cache-Control": f"private, max-age={max_age}",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return endpoint
