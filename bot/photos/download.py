"""Download a headshot from a link someone pasted, without letting the link reach inside our network.

A pasted URL is attacker-controlled: it may name a cloud metadata endpoint, a loopback admin port or
a host whose DNS answer changes between our check and our connection. So every hop is vetted
(`vet_host`: resolve, then refuse unless every address is public) and the connection goes to the
vetted IP itself, with the original name sent as `Host` and as TLS SNI. Redirects are followed by
hand so each one is vetted the same way.

Refusals name the host at most — never the full URL (presigned links carry signatures in the query)
and never request headers (callers may pass `Authorization`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from bot.photos.image_check import DEFAULT_MAX_BYTES
from bot.photos.refusals import FetchRefusal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")
_CONNECT_TIMEOUT = 5.0
_HOSTNAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")
_DEFAULT_HEADERS = {
    "User-Agent": "replica-bot (headshot preflight)",
    "Accept": "image/jpeg, image/png;q=0.9, */*;q=0.1",
    # Photos don't compress; refusing gzip keeps a small compressed body from inflating in memory.
    "Accept-Encoding": "identity",
}

# Python's `is_global` tables differ between patch releases and miss some of these (224.0.0.0/4 and
# the IPv4-compatible ::/96 both count as global on 3.11), so the ranges we never fetch from are
# listed explicitly as well.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, including cloud metadata at 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, including 255.255.255.255
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/96",  # unspecified, loopback and the deprecated IPv4-compatible form
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # protocol assignments, including Teredo
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # old site-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, repr=False)
class FetchedFile:
    url: str  # final URL after redirects; may carry a presigned signature, so repr leaves it out
    content: bytes
    content_type: str | None

    def __repr__(self) -> str:
        host = httpx.URL(self.url).host
        return f"FetchedFile(host={host!r}, size={len(self.content)}, content_type={self.content_type!r})"


def fetch_url(
    url: str,
    *,
    allow_private: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = 10.0,
    max_redirects: int = 5,
    headers: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
) -> FetchedFile:
    """GET `url` and return its body, or raise `FetchRefusal`.

    `timeout` is the budget for the whole download, redirects included. It is checked between reads,
    so one stalled read can overrun it by at most the time that was left when the request started;
    DNS lookups are not covered (`getaddrinfo` can't be interrupted).

    Headers in `headers` (and a passed `client`'s own credentials) are sent only while redirects stay
    on the original scheme, host and port. A passed `client` must not use a proxy, or the connection
    no longer goes to the vetted address.
    """
    budget = _Budget(time.monotonic() + timeout, timeout)
    target = parse_url(url)
    first_origin = _origin(target)
    send_credentials = True
    request_headers = httpx.Headers(_DEFAULT_HEADERS)
    request_headers.update(headers or {})

    own_client = client is None
    if client is None:
        # trust_env=False: an HTTP(S)_PROXY from the environment would connect on our behalf to
        # wherever the name resolves, undoing the address pinning.
        client = httpx.Client(follow_redirects=False, trust_env=False)
    try:
        for _ in range(max_redirects + 1):
            # Once a redirect leaves the first origin, its credentials stay behind for good, even if a
            # later hop comes back.
            send_credentials = send_credentials and _origin(target) == first_origin
            response = _open(client, target, request_headers, send_credentials, allow_private, budget)
            try:
                location = _redirect_location(response, target)
                if location is None:
                    return FetchedFile(
                        url=str(target),
                        content=_read_body(response, target, max_bytes, budget),
                        content_type=response.headers.get("content-type"),
                    )
            finally:
                response.close()
            target = location
        raise FetchRefusal("too_many_redirects", host=_host(target), limit=max_redirects)
    except httpx.TimeoutException:
        raise budget.exceeded(target) from None
    except httpx.RequestError:
        raise _unreachable(target) from None
    finally:
        if own_client:
            client.close()


def check_url(url: str, *, allow_private: bool = False) -> httpx.URL:
    """Vet a link Tavus will download itself (a training or consent video) without downloading it here."""
    parsed = parse_url(url)
    vet_host(_host(parsed), allow_private=allow_private)
    return parsed


def parse_url(url: str) -> httpx.URL:
    """Parse a pasted link, refusing anything but a complete http(s) URL."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        raise _bad_url() from None
    if not parsed.scheme:
        raise _bad_url()
    if parsed.scheme not in ("http", "https"):
        raise FetchRefusal("bad_scheme", scheme=parsed.scheme[:20])
    host = _host(parsed)
    if not host or not (_is_ip_literal(host) or _HOSTNAME.match(host)):
        raise _bad_url()
    return parsed.copy_with(fragment=None)


def resolve_host(host: str) -> list[IPAddress]:
    """Every address `host` resolves to, in resolver order (an IP literal resolves to itself)."""
    if _is_ip_literal(host):
        return [ipaddress.ip_address(host)]
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def is_public_address(address: IPAddress) -> bool:
    """True only for addresses on the public internet, which is all Tavus could reach either."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        embedded = address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
        blocked: tuple[ipaddress.IPv4Network, ...] | tuple[ipaddress.IPv6Network, ...] = _BLOCKED_V6
    else:
        blocked = _BLOCKED_V4
    if not address.is_global or address.is_multicast:
        return False
    return not any(address in network for network in blocked)


def vet_host(host: str, *, allow_private: bool) -> list[IPAddress]:
    """The addresses we may connect to for `host`; refuses if any of them is not public.

    All of them must pass, not just the one we'd use: otherwise a name with one public and one
    internal record could still steer a retry inside.
    """
    try:
        addresses = resolve_host(host)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise FetchRefusal("download_failed", host=host, cause="host_not_found")
    if not allow_private and not all(is_public_address(address) for address in addresses):
        raise FetchRefusal("private_address", host=host)
    return addresses


def build_pinned_request(
    client: httpx.Client,
    target: httpx.URL,
    address: IPAddress,
    headers: httpx.Headers,
    *,
    timeout: httpx.Timeout,
) -> httpx.Request:
    """A GET for `target` that connects to `address`, whatever DNS says by the time it is sent."""
    host = _host(target)
    pinned_headers = httpx.Headers(headers)
    pinned_headers["Host"] = target.netloc.decode("ascii")
    extensions = {} if _is_ip_literal(host) else {"sni_hostname": host}
    return client.build_request(
        "GET",
        target.copy_with(host=str(address)),
        headers=pinned_headers,
        timeout=timeout,
        extensions=extensions,
    )


def _open(
    client: httpx.Client,
    target: httpx.URL,
    headers: httpx.Headers,
    send_credentials: bool,
    allow_private: bool,
    budget: _Budget,
) -> httpx.Response:
    addresses = vet_host(_host(target), allow_private=allow_private)
    last_error: httpx.ConnectError | None = None
    for address in addresses:
        remaining = budget.remaining(target)
        request = build_pinned_request(
            client,
            target,
            address,
            headers,
            timeout=httpx.Timeout(
                connect=min(_CONNECT_TIMEOUT, remaining), read=remaining, write=remaining, pool=remaining
            ),
        )
        if not send_credentials:
            # Also drops credentials the caller's client adds by default, not just ours.
            for name in _CREDENTIAL_HEADERS:
                request.headers.pop(name, None)
        try:
            return client.send(
                request,
                stream=True,
                follow_redirects=False,
                auth=httpx.USE_CLIENT_DEFAULT if send_credentials else None,
            )
        except httpx.ConnectError as exc:
            # Names often list an IPv6 address this machine can't route; try the next one.
            last_error = exc
    assert last_error is not None
    raise last_error


def _redirect_location(response: httpx.Response, current: httpx.URL) -> httpx.URL | None:
    status = response.status_code
    if status >= 400:
        raise _http_error(response, current)
    if status not in _REDIRECT_STATUSES:
        if 300 <= status < 400:
            raise FetchRefusal(
                "download_failed",
                host=_host(current),
                http_status=status,
                status_text=response.reason_phrase,
                cause="not_a_file",
            )
        return None
    location = response.headers.get("location")
    if not location:
        raise FetchRefusal("download_failed", host=_host(current), cause="no_location")
    try:
        joined = current.join(location)
    except httpx.InvalidURL:
        raise _bad_url() from None
    return parse_url(str(joined))


def _read_body(response: httpx.Response, target: httpx.URL, max_bytes: int, budget: _Budget) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(target, max_bytes)
    chunks: list[bytes] = []
    received = 0
    for chunk in response.iter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(target, max_bytes)
        budget.remaining(target)
        chunks.append(chunk)
    return b"".join(chunks)


def _http_error(response: httpx.Response, target: httpx.URL) -> FetchRefusal:
    return FetchRefusal(
        "http_error", host=_host(target), http_status=response.status_code, status_text=response.reason_phrase
    )


def _too_large(target: httpx.URL, max_bytes: int) -> FetchRefusal:
    return FetchRefusal("too_large", host=_host(target), limit=max_bytes)


@dataclass(frozen=True)
class _Budget:
    """The whole download's time allowance, redirects and slow-dripping bodies included."""

    deadline: float
    timeout: float

    def remaining(self, target: httpx.URL) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.exceeded(target)
        return left

    def exceeded(self, target: httpx.URL) -> FetchRefusal:
        return FetchRefusal("timeout", host=_host(target), seconds=self.timeout)


def _unreachable(target: httpx.URL) -> FetchRefusal:
    return FetchRefusal("download_failed", host=_host(target), cause="unreachable")


def _bad_url() -> FetchRefusal:
    return FetchRefusal("bad_url")


def _host(url: httpx.URL) -> str:
    """The host as sent on the wire: IDNA-encoded names, bare IPv6 literals."""
    return url.raw_host.decode("ascii", "replace").strip("[]")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, _host(url).lower(), url.port


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
