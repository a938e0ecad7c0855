"""fetch_url and friends (bot.photos.download) against a real HTTP server on loopback.

Refusals carry the facts (host, status, limit, cause …); the sentences the requester reads come from
`bot.slack.render.photos.refusal_text` and are checked here too. Neither may leak a signature or token.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.photos import download
from bot.photos.download import FetchedFile, FetchRefusal, build_pinned_request, fetch_url, is_public_address
from bot.photos.image_check import DEFAULT_MAX_BYTES
from bot.slack.render.photos import refusal_text
from tests import images

IMAGE = images.png(600, 600)
SECRET_TOKEN = "Bearer sekrit-token-123"
SECRET_SIGNATURE = "sekrit-signature-456"
SIGN_IN_PAGE = b"<!DOCTYPE html><html><body>Please sign in</body></html>"


# --- a real HTTP server on loopback -------------------------------------------------------------


@dataclass
class Seen:
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    huge_sent: int = 0
    huge_done: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        seen = self.server.seen
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        seen.paths.append(url.path)
        seen.headers.append({name.lower(): value for name, value in self.headers.items()})
        route = url.path

        if route == "/image.png":
            self._send(200, IMAGE, "image/png")
        elif route == "/sign-in":
            self._send(200, SIGN_IN_PAGE, "text/html")
        elif route == "/echo-headers":
            self._send(200, json.dumps(seen.headers[-1]).encode(), "application/json")
        elif route == "/missing":
            self._send(404, b"nope", "text/plain")
        elif route == "/forbidden":
            self._send(403, b"<Error>AccessDenied</Error>", "application/xml")
        elif route.startswith("/r/"):
            left = int(route.removeprefix("/r/"))
            self._redirect("/image.png" if left == 0 else f"/r/{left - 1}")
        elif route == "/loop":
            self._redirect("/loop")
        elif route == "/redirect":
            self._redirect(query["to"][0])
        elif route == "/no-location":
            self._send(302, b"", "text/plain")
        elif route == "/declared-huge":
            self.send_response(200)
            self.send_header("Content-Length", str(500 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"\0" * 1024)
        elif route == "/huge":
            self._stream_forever()
        elif route == "/slow":
            seen.stop.wait(5)  # never answers within the test's timeout
            self._send(200, IMAGE, "image/png")
        elif route == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self._drip()
        else:
            self._send(500, b"unknown route", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stream_forever(self) -> None:
        # No Content-Length: the only thing that stops us is the client hanging up.
        seen = self.server.seen
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        chunk = b"\0" * 65536
        try:
            while seen.huge_sent < 1024 * 1024 * 1024 and not seen.stop.is_set():
                self.wfile.write(chunk)
                seen.huge_sent += len(chunk)
        except OSError:
            pass
        finally:
            seen.huge_done.set()

    def _drip(self) -> None:
        try:
            for _ in range(200):
                if self.server.seen.stop.wait(0.05):
                    return
                self.wfile.write(b"x")
                self.wfile.flush()
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: Seen


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.seen = Seen()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.seen.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def port(server: Server) -> int:
    return server.server_address[1]


@pytest.fixture
def base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to open a connection beyond this machine."""
    original = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(str(host).split("%")[0]).is_loopback:
            raise AssertionError(f"test tried to reach {host}")
        original(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def fake_dns(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> None:
    """Answer for made-up names from a table, leaving every other lookup to the real resolver."""
    real = download.resolve_host

    def resolve(host: str) -> list[download.IPAddress]:
        if host in names:
            return [ipaddress.ip_address(address) for address in names[host]]
        return real(host)

    monkeypatch.setattr(download, "resolve_host", resolve)


def trusted_loopback_name(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make `name` a "public" host that really lives on 127.0.0.1, so allow_private=False can be
    exercised against the local server. Only vetting is bypassed, and only for this name."""
    real = download.vet_host

    def vet(host: str, *, allow_private: bool) -> list[download.IPAddress]:
        if host == name:
            return [ipaddress.IPv4Address("127.0.0.1")]
        return real(host, allow_private=allow_private)

    monkeypatch.setattr(download, "vet_host", vet)


def refused(call: Callable[[], object]) -> FetchRefusal:
    with pytest.raises(FetchRefusal) as caught:
        call()
    exc = caught.value
    text = refusal_text(exc)
    assert text.strip()
    assert not text.startswith("This photo can't be used")  # the renderer's fallback: a reason it missed
    assert str(exc).startswith(exc.reason)
    assert "sekrit" not in text and "sekrit" not in str(exc) and "sekrit" not in repr(exc)
    return exc


# --- downloads that work --------------------------------------------------------------------------


def test_fetches_bytes_from_loopback_when_allowed(base: str) -> None:
    got = fetch_url(f"{base}/image.png", allow_private=True)
    assert got == FetchedFile(url=f"{base}/image.png", content=IMAGE, content_type="image/png")


def test_follows_a_redirect_chain(base: str, server: Server) -> None:
    got = fetch_url(f"{base}/r/3", allow_private=True)
    assert got.content == IMAGE
    assert got.url == f"{base}/image.png"
    assert server.seen.paths == ["/r/3", "/r/2", "/r/1", "/r/0", "/image.png"]


def test_redirect_limit_is_configurable(base: str) -> None:
    assert fetch_url(f"{base}/r/1", allow_private=True, max_redirects=2).content == IMAGE
    exc = refused(lambda: fetch_url(f"{base}/r/1", allow_private=True, max_redirects=1))
    assert exc.reason == "too_many_redirects"
    assert (exc.host, exc.limit) == ("127.0.0.1", 1)
    assert "more than 1 times" in refusal_text(exc)


def test_connects_to_the_vetted_address_and_sends_the_original_host(
    monkeypatch: pytest.MonkeyPatch, port: int
) -> None:
    fake_dns(monkeypatch, {"photos.example": ["127.0.0.1"]})
    got = fetch_url(f"http://photos.example:{port}/echo-headers", allow_private=True)
    sent = json.loads(got.content)
    assert sent["host"] == f"photos.example:{port}"
    assert sent["accept-encoding"] == "identity"
    assert got.url == f"http://photos.example:{port}/echo-headers"


def test_falls_back_to_the_next_address_when_one_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, port: int
) -> None:
    # The server listens on 127.0.0.1 only, so 127.0.0.2 refuses the connection.
    fake_dns(monkeypatch, {"photos.example": ["127.0.0.2", "127.0.0.1"]})
    assert fetch_url(f"http://photos.example:{port}/image.png", allow_private=True).content == IMAGE


def test_credentials_go_to_the_same_origin_only(
    monkeypatch: pytest.MonkeyPatch, base: str, port: int
) -> None:
    fake_dns(monkeypatch, {"cdn.example": ["127.0.0.1"]})
    auth = {"Authorization": SECRET_TOKEN}

    same = fetch_url(f"{base}/redirect?to=/echo-headers", allow_private=True, headers=auth)
    assert json.loads(same.content)["authorization"] == SECRET_TOKEN

    other = f"http://cdn.example:{port}/echo-headers"
    moved = fetch_url(f"{base}/redirect?to={other}", allow_private=True, headers=auth)
    assert "authorization" not in json.loads(moved.content)


def test_client_default_credentials_also_stay_behind(
    monkeypatch: pytest.MonkeyPatch, base: str, port: int
) -> None:
    fake_dns(monkeypatch, {"cdn.example": ["127.0.0.1"]})
    with httpx.Client(headers={"Authorization": SECRET_TOKEN}, trust_env=False) as client:
        other = f"http://cdn.example:{port}/echo-headers"
        moved = fetch_url(f"{base}/redirect?to={other}", allow_private=True, client=client)
    assert "authorization" not in json.loads(moved.content)


def test_https_is_pinned_with_sni(monkeypatch: pytest.MonkeyPatch) -> None:
    # The mock transport stands in for the TLS connection; no socket is opened.
    fake_dns(monkeypatch, {"photos.example": ["8.8.8.8"]})
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=IMAGE, headers={"Content-Type": "image/png"})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        got = fetch_url("https://photos.example/headshot.png?sig=x", client=client)
    assert got.content == IMAGE
    assert got.url == "https://photos.example/headshot.png?sig=x"
    (request,) = requests
    assert request.url.host == "8.8.8.8"
    assert request.url.scheme == "https"
    assert request.headers["host"] == "photos.example"
    assert request.extensions["sni_hostname"] == "photos.example"


def test_build_pinned_request_handles_ipv6_addresses() -> None:
    with httpx.Client() as client:
        request = build_pinned_request(
            client,
            httpx.URL("https://photos.example:8443/a.png"),
            ipaddress.IPv6Address("2606:4700::1111"),
            httpx.Headers({"Accept": "image/*"}),
            timeout=httpx.Timeout(1.0),
        )
    assert str(request.url) == "https://[2606:4700::1111]:8443/a.png"
    assert request.headers["host"] == "photos.example:8443"
    assert request.extensions["sni_hostname"] == "photos.example"


def test_repr_hides_the_signed_url_and_the_bytes() -> None:
    text = repr(FetchedFile(f"https://bucket.example/a.png?sig={SECRET_SIGNATURE}", IMAGE, "image/png"))
    assert "sekrit" not in text
    assert "bucket.example" in text and str(len(IMAGE)) in text


# --- private addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "10.0.0.1", "169.254.169.254", "0.0.0.0", "[::ffff:127.0.0.1]"],
)
def test_private_hosts_are_refused_before_connecting(host: str, port: int, server: Server) -> None:
    exc = refused(lambda: fetch_url(f"http://{host}:{port}/image.png"))
    assert exc.reason == "private_address"
    assert exc.host == host.strip("[]")
    text = refusal_text(exc)
    assert "private or internal" in text and "Tavus cannot reach" in text
    assert exc.host in text
    assert server.seen.paths == []


@pytest.mark.parametrize("answers", [["10.1.2.3"], ["8.8.8.8", "192.168.1.10"], ["fd00::1"]])
def test_names_resolving_to_any_private_address_are_refused(
    monkeypatch: pytest.MonkeyPatch, answers: list[str]
) -> None:
    fake_dns(monkeypatch, {"intranet.example": answers})
    exc = refused(lambda: fetch_url("https://intranet.example/photo.jpg"))
    assert exc.reason == "private_address"
    assert exc.host == "intranet.example"
    assert "intranet.example" in refusal_text(exc)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/image.png",
        "http://localhost:{port}/image.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/image.png",
    ],
)
def test_redirect_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, server: Server, port: int, target: str
) -> None:
    trusted_loopback_name(monkeypatch, "public.example")
    start = f"http://public.example:{port}/redirect?to={target.format(port=port)}"
    exc = refused(lambda: fetch_url(start))
    assert exc.reason == "private_address"
    assert exc.host == httpx.URL(target.format(port=port)).host  # the hop refused, not the first one
    assert server.seen.paths == ["/redirect"]


def test_trusted_name_alone_still_downloads(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    # Guards the redirect tests above: they fail because of the redirect, not the first hop.
    trusted_loopback_name(monkeypatch, "public.example")
    assert fetch_url(f"http://public.example:{port}/image.png").content == IMAGE


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.0.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.2.1", "::", "::1",
        "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::a00:1", "fc00::1", "fd12:3456::1", "fe80::1",
        "ff02::1", "2001:db8::1", "64:ff9b::a00:1", "2002:a00:1::1", "2001:0:4136:e378::1",
    ],
)  # fmt: skip
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


# --- bad links ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("ftp://files.example/a.png", "ftp"), ("file:///etc/passwd", "file"), ("gopher://x.example/", "gopher")],
)
def test_non_http_schemes_are_refused(url: str, scheme: str) -> None:
    exc = refused(lambda: fetch_url(url))
    assert exc.reason == "bad_scheme"
    assert exc.scheme == scheme
    assert f"{scheme}://" in refusal_text(exc)


@pytest.mark.parametrize("url", ["", "not a url", "http://", "https:///path", "//files.example/a.png",
                                 "http://exa mple.com/", "http://999.1.1.1/"])  # fmt: skip
def test_malformed_links_are_refused(url: str) -> None:
    assert refused(lambda: fetch_url(url)).reason == "bad_url"


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://files.example/a.png"])
def test_redirect_to_another_scheme_is_refused(base: str, target: str) -> None:
    exc = refused(lambda: fetch_url(f"{base}/redirect?to={target}", allow_private=True))
    assert exc.reason == "bad_scheme"
    assert exc.scheme == target.split(":", 1)[0]


# --- server answers -------------------------------------------------------------------------------


def test_not_found_says_so_without_leaking_secrets(base: str) -> None:
    exc = refused(
        lambda: fetch_url(
            f"{base}/missing?X-Amz-Signature={SECRET_SIGNATURE}",
            allow_private=True,
            headers={"Authorization": SECRET_TOKEN},
        )
    )
    assert exc.reason == "http_error"
    assert (exc.host, exc.http_status, exc.status_text) == ("127.0.0.1", 404, "Not Found")
    text = refusal_text(exc)
    assert "404 Not Found" in text and "public" in text


def test_forbidden_suggests_the_link_expired(base: str) -> None:
    exc = refused(lambda: fetch_url(f"{base}/forbidden", allow_private=True))
    assert exc.reason == "http_error"
    assert (exc.http_status, exc.status_text) == (403, "Forbidden")
    text = refusal_text(exc)
    assert "403 Forbidden" in text and "expired" in text


def test_redirect_loop(base: str, server: Server) -> None:
    exc = refused(lambda: fetch_url(f"{base}/loop", allow_private=True, max_redirects=5))
    assert exc.reason == "too_many_redirects"
    assert exc.limit == 5
    assert "5 times" in refusal_text(exc)
    assert len(server.seen.paths) == 6


def test_redirect_without_location(base: str) -> None:
    exc = refused(lambda: fetch_url(f"{base}/no-location", allow_private=True))
    assert (exc.reason, exc.cause, exc.host) == ("download_failed", "no_location", "127.0.0.1")
    assert "redirected without saying where to" in refusal_text(exc)


def test_html_is_returned_for_preflight_to_judge(base: str) -> None:
    # Fetching isn't judging: check_image turns this into "html_page".
    got = fetch_url(f"{base}/sign-in", allow_private=True)
    assert got.content_type == "text/html" and got.content == SIGN_IN_PAGE


def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed_port = probe.getsockname()[1]
    probe.close()
    exc = refused(lambda: fetch_url(f"http://127.0.0.1:{closed_port}/a.png", allow_private=True))
    assert exc.reason == "download_failed"
    assert (exc.cause, exc.host) == ("unreachable", "127.0.0.1")
    assert "127.0.0.1" in refusal_text(exc)


def test_unknown_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(host: str) -> list[download.IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(download, "resolve_host", no_such_host)
    exc = refused(lambda: fetch_url("https://nowhere.example/a.png"))
    assert exc.reason == "download_failed"
    assert (exc.cause, exc.host) == ("host_not_found", "nowhere.example")
    assert "nowhere.example" in refusal_text(exc)


# --- size and time limits -------------------------------------------------------------------------


def test_streamed_body_stops_at_the_cap(base: str, server: Server) -> None:
    started = time.perf_counter()
    exc = refused(lambda: fetch_url(f"{base}/huge", allow_private=True, max_bytes=1024 * 1024))
    assert exc.reason == "too_large"
    assert (exc.host, exc.limit) == ("127.0.0.1", 1024 * 1024)
    assert "1 MB" in refusal_text(exc)
    assert server.seen.huge_done.wait(5), "server kept streaming after we hung up"
    # Socket buffers let the server get a little ahead of us, but nowhere near the 1 GiB it offers.
    assert server.seen.huge_sent < 64 * 1024 * 1024
    assert time.perf_counter() - started < 5


def test_declared_length_over_the_cap_is_refused_before_reading(base: str) -> None:
    exc = refused(lambda: fetch_url(f"{base}/declared-huge", allow_private=True))
    assert exc.reason == "too_large"
    assert (exc.host, exc.limit) == ("127.0.0.1", DEFAULT_MAX_BYTES)
    assert "10 MB" in refusal_text(exc)


def test_slow_server_times_out(base: str) -> None:
    started = time.perf_counter()
    exc = refused(lambda: fetch_url(f"{base}/slow", allow_private=True, timeout=0.4))
    assert exc.reason == "timeout"
    assert (exc.host, exc.seconds) == ("127.0.0.1", 0.4)
    assert "0.4 seconds" in refusal_text(exc)
    assert time.perf_counter() - started < 2


def test_slow_drip_hits_the_overall_deadline(base: str) -> None:
    # Each byte arrives well within the read timeout; only the overall deadline can stop this.
    started = time.perf_counter()
    exc = refused(lambda: fetch_url(f"{base}/drip", allow_private=True, timeout=0.5))
    assert exc.reason == "timeout"
    assert exc.seconds == 0.5
    assert time.perf_counter() - started < 2


def test_caller_client_is_left_open(base: str) -> None:
    with httpx.Client(trust_env=False) as client:
        fetch_url(f"{base}/image.png", allow_private=True, client=client)
        assert not client.is_closed
