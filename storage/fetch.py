"""The guarded downloader behind URL imports and result mirroring.

Only http(s). Every address a URL's host resolves to must be public (an IPv6
address carrying an IPv4 one, mapped or 6to4, is judged by that one), checked
before the request, again at connect time on the address actually dialled (so
a DNS answer that changes between the two cannot smuggle in a private address),
on the socket's peer address after connecting, and on every redirect hop.
Size, total time and redirect count are bounded. A refusal says why
(``unsafe_url`` with a ``reason``).

``STORAGE_ALLOW_LOOPBACK_IMPORTS`` lets loopback through, and only loopback:
the embedded mode's simulator and the tests' fakes live on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from django.conf import settings

from storage.errors import DownloadFailed, FileTooLarge, TransientDownloadError, UnsafeUrl

Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = frozenset(
    ipaddress.ip_address(ip)
    for ip in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)


@dataclass(frozen=True)
class Downloaded:
    path: str
    size: int
    sha256: str
    content_type: str
    url: str


def system_resolve(host: str) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DownloadFailed(f"The host {host} could not be resolved.", attr="url") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _address(ip: str) -> IPAddress:
    """The address that decides: an IPv6 address that carries an IPv4 one
    (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002:AABB:CCDD::/48``) is judged by
    the IPv4 address inside, since that is where its packets end up (Python
    calls all of 2002::/16 global, whatever it embeds)."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
    return addr


def is_public_address(ip: str) -> bool:
    """True only for a globally routable unicast address that is no cloud metadata service."""
    addr = _address(ip)
    return not (
        addr in _METADATA
        or addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global
    )


def _why_not(addr: IPAddress) -> str:
    if addr in _METADATA:
        return "metadata"
    for reason in ("loopback", "link_local", "multicast", "unspecified", "private", "reserved"):
        if getattr(addr, f"is_{reason}"):
            return reason
    return "not_public"


def _allowed(ip: str) -> bool:
    if is_public_address(ip):
        return True
    return bool(settings.STORAGE_ALLOW_LOOPBACK_IMPORTS) and _address(ip).is_loopback


def check_addresses(host: str, ips: Iterable[str]) -> list[str]:
    """Refuse the host if any of its addresses is not allowed (a mixed DNS answer
    is an attack, not an accident)."""
    ips = list(ips)
    if not ips:
        raise DownloadFailed(f"The host {host} has no address.", attr="url")
    for ip in ips:
        if not _allowed(ip):
            addr = _address(ip)
            reason = _why_not(addr)
            shown = str(addr) if str(addr) == ip else f"{ip} (carrying {addr})"
            raise UnsafeUrl(
                f"{host} resolves to {shown}, a {reason.replace('_', '-')} address; "
                "only public addresses may be fetched.",
                attr="url",
                reason=reason,
            )
    return ips


def check_url(url: str, resolve: Resolver) -> None:
    """Refuse a URL by scheme or by where its host points, without connecting."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(
            f"Only http and https URLs may be fetched, not {parts.scheme or 'this'}.",
            attr="url",
            reason="scheme",
        )
    host = parts.hostname
    if not host:
        raise UnsafeUrl("The URL has no host.", attr="url", reason="no_host")
    check_addresses(host, _resolve_host(host, resolve))


def _resolve_host(host: str, resolve: Resolver) -> list[str]:
    try:
        return [str(_address(host))]
    except ValueError:
        return resolve(host)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves and checks at the moment of connecting, dials the checked address
    itself (TLS still verifies and sends SNI for the host name), then checks the
    socket's peer."""

    def __init__(self, resolve: Resolver) -> None:
        self._resolve = resolve
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        ips = check_addresses(host, _resolve_host(host, self._resolve))
        error: Exception | None = None
        for ip in ips:
            try:
                stream = self._inner.connect_tcp(
                    ip,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            peer = stream.get_extra_info("socket").getpeername()[0]
            if not _allowed(peer):
                stream.close()
                check_addresses(host, [peer])
            return stream
        raise error or httpcore.ConnectError(f"Could not connect to {host}.")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise UnsafeUrl("Unix sockets may not be fetched.", attr="url", reason="scheme")

    def sleep(self, seconds: float) -> None:
        # httpcore sleeps only between connect retries, and this pool has none:
        # a download that fails is retried by its caller later, never in place.
        raise RuntimeError("the guarded downloader does not retry in place")


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, resolve: Resolver) -> None:
        super().__init__(trust_env=False)
        # httpx offers no public hook for the network backend, so its pool is
        # replaced by one whose backend checks every address it dials.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_GuardedBackend(resolve),
        )


@contextmanager
def download(
    url: str,
    *,
    max_bytes: int,
    timeout: float | None = None,
    max_redirects: int | None = None,
    resolve: Resolver | None = None,
) -> Iterator[Downloaded]:
    """Stream ``url`` into a temporary file (removed on exit) and yield what was read."""
    fd, path = tempfile.mkstemp(prefix="import-", suffix=".part")
    os.close(fd)
    try:
        yield _fetch(
            url,
            path,
            max_bytes=max_bytes,
            timeout=settings.STORAGE_IMPORT_TIMEOUT if timeout is None else timeout,
            max_redirects=(
                settings.STORAGE_IMPORT_MAX_REDIRECTS if max_redirects is None else max_redirects
            ),
            resolve=resolve or system_resolve,
        )
    finally:
        os.unlink(path)


def _fetch(
    url: str,
    path: str,
    *,
    max_bytes: int,
    timeout: float,
    max_redirects: int,
    resolve: Resolver,
) -> Downloaded:
    deadline = time.monotonic() + timeout
    client = httpx.Client(
        transport=_GuardedTransport(resolve),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(min(timeout, 15.0)),
        headers={"User-Agent": "animate-storage/1.0", "Accept": "*/*"},
    )
    current = url
    try:
        with client:
            for _hop in range(max_redirects + 1):
                check_url(current, resolve)
                with client.stream("GET", current) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(str(response.url), response.headers["location"])
                        continue
                    return _save_body(response, path, max_bytes=max_bytes, deadline=deadline)
    except httpx.TimeoutException as exc:
        raise TransientDownloadError("The download timed out.", attr="url") from exc
    except httpx.TransportError as exc:
        raise TransientDownloadError(
            f"The download failed: {type(exc).__name__}.", attr="url"
        ) from exc
    raise UnsafeUrl(
        f"More than {max_redirects} redirects.", attr="url", reason="too_many_redirects"
    )


def _save_body(
    response: httpx.Response, path: str, *, max_bytes: int, deadline: float
) -> Downloaded:
    status = response.status_code
    if status >= 500 or status == 429:
        raise TransientDownloadError(f"The server answered {status}.", attr="url", status=status)
    if status != 200:
        raise DownloadFailed(f"The server answered {status}.", attr="url", status=status)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FileTooLarge(
            f"The file is {declared} bytes; at most {max_bytes} are allowed.",
            attr="url",
            max_bytes=max_bytes,
        )
    digest = hashlib.sha256()
    size = 0
    with open(path, "wb") as out:
        # Pieces as they arrive, not gathered into fixed chunks: a server trickling
        # bytes must meet the deadline check too, not only the per-read timeout.
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge(
                    f"The file is larger than {max_bytes} bytes.", attr="url", max_bytes=max_bytes
                )
            if time.monotonic() > deadline:
                raise TransientDownloadError("The download took too long.", attr="url")
            digest.update(chunk)
            out.write(chunk)
    return Downloaded(
        path=path,
        size=size,
        sha256=digest.hexdigest(),
        content_type=response.headers.get("content-type", ""),
        url=str(response.url),
    )
