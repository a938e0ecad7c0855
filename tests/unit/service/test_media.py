"""The media stores over real servers: the builtin one served by uvicorn on loopback (SQLite and PostgreSQL),
the S3 one against moto's S3 server, with the presigned URLs' signatures checked here since moto does not."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.routing import Route

from bot.sandbox.threaded_server import ThreadedServer
from bot.service.media import (
    MAX_PRESIGN_SECONDS,
    BuiltinMediaStore,
    MediaNotFound,
    S3MediaStore,
    build_media_store,
    media_endpoint,
)
from bot.service.settings import Settings, SettingsError
from storage.db import make_engine, migrate, session_scope
from storage.models import MediaObject, ReplicaRequest, RequestStatus
from tests.images import png
from tests.servers import free_port

FAKE_KEY_ID = "AKIAREPLICABOTTEST00"
FAKE_SECRET = "replica-bot-test-secret-key-not-real-000000"
REGION = "eu-west-1"
HOURS_48 = 48 * 3600


def make_request(engine: Engine, status: RequestStatus, finished_ago: timedelta | None = None) -> int:
    now = datetime.now(UTC)
    row = ReplicaRequest(
        channel_id="C1",
        requester_id="U1",
        replica_name=f"ana-{uuid.uuid4().hex[:6]}",
        callback_token=secrets.token_urlsafe(16),
        idempotency_key=uuid.uuid4().hex,
        status=status,
        finished_at=None if finished_ago is None else now - finished_ago,
    )
    with session_scope(engine) as session:
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


# ---------------------------------------------------------------- builtin


@dataclass
class MediaHost:
    store: BuiltinMediaStore
    server: ThreadedServer


@pytest.fixture
def host(engine: Engine) -> Iterator[MediaHost]:
    """A tiny Starlette app serving only /media/{token} on loopback, the way web.py mounts it."""
    port = free_port()
    # A trailing slash, as pydantic renders PUBLIC_BASE_URL, must not double up in the URLs.
    store = BuiltinMediaStore(engine, f"http://127.0.0.1:{port}/", ttl=timedelta(hours=48))
    app = Starlette(routes=[Route("/media/{token}", media_endpoint(store), methods=["GET"])])
    with ThreadedServer(app, port=port, name="media") as server:
        yield MediaHost(store, server)


def test_builtin_serves_exact_bytes_over_http(host: MediaHost, engine: Engine) -> None:
    photo = png(64, 48)
    before = datetime.now(UTC)
    stored = host.store.put(photo, "image/png")

    assert stored.url == f"{host.server.url}/media/{stored.key}"
    assert stored.expires_at.tzinfo is not None
    assert before + timedelta(hours=48) <= stored.expires_at <= datetime.now(UTC) + timedelta(hours=48)
    response = httpx.get(stored.url)
    assert response.status_code == 200
    assert response.content == photo
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    cache = response.headers["cache-control"]
    assert cache.startswith("private, max-age=")
    assert 0 < int(cache.rsplit("=", 1)[1]) <= HOURS_48

    # Another process on the same database (another replica behind the load balancer) serves it too.
    other = BuiltinMediaStore(engine, "https://elsewhere.example", ttl=timedelta(hours=1))
    assert other.get(stored.key) == (photo, "image/png")


def test_builtin_content_type_is_normalized_and_restricted(host: MediaHost) -> None:
    stored = host.store.put(b"\xff\xd8\xff fake jpeg", "image/JPG; foo=bar")
    response = httpx.get(stored.url)
    assert response.headers["content-type"] == "image/jpeg"
    # Served from the bot's own origin, so nothing a browser would run.
    for dangerous in ("text/html", "image/svg+xml", "application/javascript"):
        with pytest.raises(ValueError, match="unsupported"):
            host.store.put(b"<script>alert(1)</script>", dangerous)
    with pytest.raises(ValueError):
        host.store.put(b"", "image/png")


def test_builtin_unknown_and_malformed_tokens_are_404(host: MediaHost) -> None:
    host.store.put(png(8, 8), "image/png")
    base = f"{host.server.url}/media/"
    unknown = secrets.token_urlsafe(32)
    assert host.store.get(unknown) is None
    response = httpx.get(base + unknown)
    assert response.status_code == 404
    assert response.content == b""

    malformed = ["..%2F..%2Fetc%2Fpasswd", "x" * 5000, "a" * 42 + ".", "%00" * 43, "' OR 1=1 --"]
    for token in malformed:
        assert httpx.get(base + token).status_code == 404, token
    for token in ["../etc/passwd", "x" * 5000, "a" * 42 + ".", "\x00" * 43, "A" * 44, ""]:
        assert host.store.get(token) is None


def test_builtin_expired_is_404(host: MediaHost, engine: Engine) -> None:
    short = BuiltinMediaStore(engine, host.server.url, ttl=timedelta(milliseconds=1))
    stored = short.put(png(8, 8), "image/png")
    time.sleep(0.05)
    assert httpx.get(stored.url).status_code == 404

    lasting = host.store.put(png(8, 8), "image/png")
    assert host.store.get(lasting.key) is not None
    assert host.store.get(lasting.key, now=lasting.expires_at - timedelta(seconds=1)) is not None
    assert host.store.get(lasting.key, now=lasting.expires_at) is None


def test_builtin_tokens_are_unguessable() -> None:
    # In memory: the point is the tokens, and a thousand fsynced commits would take seconds.
    engine = make_engine("sqlite://")
    migrate(engine)
    store = BuiltinMediaStore(engine, "https://bot.example", ttl=timedelta(hours=1))
    tokens = {store.put(b"x", "image/png").key for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43,}", t) for t in tokens)
    engine.dispose()


def test_builtin_purge_keeps_in_flight_and_recent(engine: Engine) -> None:
    store = BuiltinMediaStore(engine, "https://bot.example", ttl=timedelta(hours=48))
    retention = timedelta(hours=72)
    old_done = make_request(engine, RequestStatus.COMPLETED, finished_ago=timedelta(days=4))
    old_failed = make_request(engine, RequestStatus.SUBMIT_FAILED, finished_ago=timedelta(hours=73))
    recent_failed = make_request(engine, RequestStatus.FAILED, finished_ago=timedelta(hours=1))
    training = make_request(engine, RequestStatus.TRAINING)
    submitting = make_request(engine, RequestStatus.SUBMITTING)

    media = {rid: store.put(png(8, 8), "image/png", request_id=rid) for rid in (old_done, recent_failed)}
    # Uploaded before the request row existed, linked afterwards.
    for rid in (old_failed, training, submitting):
        media[rid] = store.put(png(8, 8), "image/png")
        store.attach(media[rid].key, rid)
    orphan = store.put(png(8, 8), "image/png")
    with pytest.raises(MediaNotFound):
        store.attach(secrets.token_urlsafe(32), training)

    assert store.purge_finished(retention=retention) == 2
    assert store.get(media[old_done].key) is None
    assert store.get(media[old_failed].key) is None
    for rid in (recent_failed, training, submitting):
        assert store.get(media[rid].key) is not None, rid
    assert store.get(orphan.key) is not None

    # Past the URLs' lifetime nobody can fetch them, so they go whatever the request's state.
    later = datetime.now(UTC) + timedelta(hours=49)
    assert store.purge_finished(retention=retention, now=later) == 4
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(MediaObject)) == 0


# ---------------------------------------------------------------- S3 (moto server)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
        mp.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        mp.delenv("AWS_PROFILE", raising=False)
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/replica-bot-test")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/replica-bot-test")
        # Never reach for the instance metadata service from a test.
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def bucket(moto_url: str) -> str:
    name = f"replica-bot-test-{uuid.uuid4().hex[:12]}"
    admin_client(moto_url).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def admin_client(moto_url: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3", endpoint_url=moto_url, region_name=REGION, config=Config(signature_version="s3v4")
    )


def s3_store(moto_url: str, bucket: str, ttl: timedelta, engine: Engine | None = None) -> S3MediaStore:
    return S3MediaStore(bucket=bucket, ttl=ttl, endpoint_url=moto_url, region=REGION, engine=engine)


def sigv4_signature(url: str, secret: str) -> str:
    """The signature S3 would expect for this presigned GET (query auth, UNSIGNED-PAYLOAD)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    params = dict(query)
    assert params["X-Amz-SignedHeaders"] == "host"
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query))
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    _key_id, date, region, service, terminator = params["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminator}"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            params["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, value if k == name else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_s3_put_serves_exact_bytes_via_presigned_sigv4_url(moto_url: str, bucket: str) -> None:
    photo = png(80, 60)
    store = s3_store(moto_url, bucket, timedelta(hours=48))
    before = datetime.now(UTC).replace(microsecond=0)
    stored = store.put(photo, "image/png")
    after = datetime.now(UTC)

    assert re.fullmatch(r"replica-bot/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.png", stored.key)
    head = admin_client(moto_url).head_object(Bucket=bucket, Key=stored.key)
    assert head["ContentType"] == "image/png"

    response = httpx.get(stored.url)
    assert response.status_code == 200
    assert response.content == photo
    assert response.headers["content-type"] == "image/png"

    params = dict(parse_qsl(urlsplit(stored.url).query))
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Credential"].startswith(f"{FAKE_KEY_ID}/")
    assert params["X-Amz-Credential"].endswith(f"/{REGION}/s3/aws4_request")
    assert int(params["X-Amz-Expires"]) == HOURS_48
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed_at <= after
    url_expiry = signed_at + timedelta(seconds=int(params["X-Amz-Expires"]))
    assert timedelta(hours=24) <= url_expiry - after <= timedelta(days=7)
    # What we report is never later than what S3 enforces.
    assert stored.expires_at <= url_expiry + timedelta(seconds=1)
    assert stored.expires_at >= before + timedelta(hours=48)

    # moto checks no signature, so check it here the way S3 would.
    assert sigv4_signature(stored.url, FAKE_SECRET) == params["X-Amz-Signature"]
    for name, value in [("X-Amz-Expires", str(MAX_PRESIGN_SECONDS)), ("X-Amz-Date", "20300101T000000Z")]:
        tampered = with_param(stored.url, name, value)
        assert sigv4_signature(tampered, FAKE_SECRET) != params["X-Amz-Signature"]
    other_key = stored.url.replace(stored.key.rsplit("/", 1)[1], "0" * 32 + ".png")
    assert sigv4_signature(other_key, FAKE_SECRET) != params["X-Amz-Signature"]


def test_s3_ttl_beyond_seven_days_is_clamped(moto_url: str, bucket: str) -> None:
    store = s3_store(moto_url, bucket, timedelta(days=30))
    stored = store.put(b"\xff\xd8\xff jpeg", "image/jpeg")
    assert stored.key.endswith(".jpg")
    params = dict(parse_qsl(urlsplit(stored.url).query))
    expires = int(params["X-Amz-Expires"])
    assert timedelta(days=6, hours=23) <= timedelta(seconds=expires)
    assert expires <= MAX_PRESIGN_SECONDS
    assert stored.expires_at <= datetime.now(UTC) + timedelta(seconds=MAX_PRESIGN_SECONDS)
    assert sigv4_signature(stored.url, FAKE_SECRET) == params["X-Amz-Signature"]
    assert httpx.get(stored.url).status_code == 200


def test_s3_purge_deletes_objects_of_finished_requests(
    moto_url: str, bucket: str, sqlite_engine: Engine
) -> None:
    store = s3_store(moto_url, bucket, timedelta(hours=48), engine=sqlite_engine)
    done = make_request(sqlite_engine, RequestStatus.COMPLETED, finished_ago=timedelta(days=4))
    training = make_request(sqlite_engine, RequestStatus.TRAINING)
    finished_media = store.put(png(8, 8), "image/png")
    store.attach(finished_media.key, done)
    in_flight_media = store.put(png(9, 9), "image/png", request_id=training)
    with pytest.raises(MediaNotFound):
        store.attach("replica-bot/2000/01/01/unknown.png", done)

    assert store.purge_finished(retention=timedelta(hours=72)) == 1
    s3 = admin_client(moto_url)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key=finished_media.key)
    assert excinfo.value.response["Error"]["Code"] == "NoSuchKey"
    assert s3.get_object(Bucket=bucket, Key=in_flight_media.key)["Body"].read() == png(9, 9)
    # Nothing left to do on a second run, by this process or another.
    assert store.purge_finished(retention=timedelta(hours=72)) == 0

    # The bookkeeping rows hold no bytes and are not served by the builtin store sharing the table.
    builtin = BuiltinMediaStore(sqlite_engine, "https://bot.example", ttl=timedelta(hours=1))
    assert builtin.get(in_flight_media.key) is None
    assert builtin.purge_finished(retention=timedelta(0), now=datetime.now(UTC) + timedelta(days=9)) == 0
    assert s3.get_object(Bucket=bucket, Key=in_flight_media.key)["Body"].read() == png(9, 9)


# ---------------------------------------------------------------- build_media_store


def settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "media_backend": "builtin",
        "public_base_url": None,
        "s3_bucket": None,
        "s3_endpoint_url": None,
        "s3_region": None,
    }
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg, arg-type]


def test_build_builtin_needs_public_base_url(sqlite_engine: Engine) -> None:
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
        build_media_store(settings(), sqlite_engine)
    store = build_media_store(settings(public_base_url="https://bot.example/"), sqlite_engine)
    assert isinstance(store, BuiltinMediaStore)
    stored = store.put(png(8, 8), "image/png")
    assert stored.url == f"https://bot.example/media/{stored.key}"
    assert stored.expires_at - datetime.now(UTC) > timedelta(hours=47)


def test_build_builtin_refuses_socket_mode(sqlite_engine: Engine) -> None:
    configured = settings(public_base_url="https://bot.example")
    with pytest.raises(SettingsError, match="MEDIA_BACKEND=s3") as excinfo:
        build_media_store(configured, sqlite_engine, socket_mode=True)
    assert "\n" not in str(excinfo.value)


def test_build_s3_needs_bucket_and_works(moto_url: str, bucket: str, sqlite_engine: Engine) -> None:
    with pytest.raises(SettingsError, match="S3_BUCKET"):
        build_media_store(settings(media_backend="s3"), sqlite_engine)
    configured = settings(
        media_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=moto_url,
        s3_region=REGION,
        media_url_ttl_hours=36,
    )
    store = build_media_store(configured, sqlite_engine, socket_mode=True)
    assert isinstance(store, S3MediaStore)
    stored = store.put(png(8, 8), "image/png")
    assert httpx.get(stored.url).content == png(8, 8)
    params = dict(parse_qsl(urlsplit(stored.url).query))
    assert int(params["X-Amz-Expires"]) == 36 * 3600
    assert sigv4_signature(stored.url, FAKE_SECRET) == params["X-Amz-Signature"]


def test_build_s3_without_credentials_fails_at_start(
    moto_url: str, bucket: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    configured = settings(media_backend="s3", s3_bucket=bucket, s3_endpoint_url=moto_url, s3_region=REGION)
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID"):
        build_media_store(configured, sqlite_engine)
