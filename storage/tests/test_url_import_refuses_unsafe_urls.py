"""SSRF: imports refuse non-http(s) schemes and any non-public address, on the
first hop, on every redirect and at connect time. Private ranges are tested
through an injected resolver; no test sends a packet beyond loopback."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from config.errors import ExceptionHandler
from storage import services
from storage.errors import UnsafeUrl
from storage.fetch import is_public_address
from storage.models import File
from storage.tests.media import make_image

pytestmark = pytest.mark.django_db


class Resolver:
    """Answers from a table and records what was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.table[host]


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "10.255.255.254",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.10",
        "169.254.169.254",
        "169.254.1.1",
        "127.0.0.1",
        "127.8.9.10",
        "0.0.0.0",  # noqa: S104
        "100.64.0.1",
        "100.100.100.200",
        "224.0.0.251",
        "::1",
        "::",
        "fc00::1",
        "fd00:ec2::254",
        "fe80::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_guard_refuses_non_public_addresses(ip) -> None:
    assert is_public_address(ip) is False


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111"])
def test_guard_accepts_public_addresses(ip) -> None:
    assert is_public_address(ip) is True


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.20.0.5", "private"),
        ("192.168.0.7", "private"),
        ("169.254.169.254", "metadata"),
        ("fc00::5", "private"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.10.10", "link_local"),
    ],
)
def test_host_resolving_to_a_private_range_is_refused(ip, reason) -> None:
    # Given a host name that resolves to a non-public address
    resolver = Resolver({"media.example.com": [ip]})
    # When it is imported
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(
            UserFactory(), "https://media.example.com/a.jpg", kind="image", resolve=resolver
        )
    # Then it is refused, saying why, and nothing is stored
    assert refused.value.extra["reason"] == reason
    assert ip in refused.value.detail or ip.split("::")[0] in refused.value.detail
    assert resolver.asked == ["media.example.com"]
    assert File.objects.count() == 0


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("2002:c0a8:0101::1", "private"),  # 6to4 of 192.168.1.1
        ("2002:0a00:0001:1::5", "private"),  # 10.0.0.1
        ("2002:7f00:0001::", "loopback"),  # 127.0.0.1
        ("2002:a9fe:a9fe::1", "metadata"),  # 169.254.169.254
        ("2002:6440:0001::1", "not_public"),  # 100.64.0.1, shared address space
    ],
)
def test_6to4_addresses_carrying_a_non_public_ipv4_are_refused(ip, reason) -> None:
    # Given a host whose AAAA answer is a 6to4 address around a private IPv4 one
    resolver = Resolver({"media.example.com": [ip]})

    # Then the guard judges the IPv4 address inside, before any connection
    assert is_public_address(ip) is False
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(
            UserFactory(), "https://media.example.com/a.jpg", kind="image", resolve=resolver
        )
    assert refused.value.extra["reason"] == reason
    assert f"{ip} (carrying " in refused.value.detail
    assert resolver.asked == ["media.example.com"]
    assert File.objects.count() == 0


def test_a_6to4_address_literal_is_refused_without_resolving() -> None:
    resolver = Resolver({})

    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(
            UserFactory(), "http://[2002:c0a8:101::1]/a.jpg", kind="image", resolve=resolver
        )

    assert refused.value.extra["reason"] == "private"
    assert resolver.asked == []


def test_a_6to4_address_carrying_a_public_ipv4_is_public() -> None:
    assert is_public_address("2002:0808:0808::1") is True  # 8.8.8.8


def test_mixed_dns_answer_is_refused_before_connecting() -> None:
    resolver = Resolver({"cdn.example.com": ["93.184.216.34", "10.0.0.9"]})
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(
            UserFactory(), "http://cdn.example.com/v.mp4", kind="video", resolve=resolver
        )
    assert refused.value.extra["reason"] == "private"
    # Only the pre-check resolved: no connection was attempted.
    assert resolver.asked == ["cdn.example.com"]


def test_dns_answer_changing_to_loopback_at_connect_time_is_refused(fake_web) -> None:
    # Given a name that first resolves public, then (rebinding) to loopback
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    asked: list[str] = []

    def rebinding(host: str) -> list[str]:
        asked.append(host)
        return next(answers)

    port = fake_web.server.port
    fake_web.file("/a.jpg", make_image())
    # When it is imported
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(
            UserFactory(),
            f"http://rebind.example.com:{port}/a.jpg",
            kind="image",
            resolve=rebinding,
        )
    # Then the connect-time check refuses the address actually dialled
    assert refused.value.extra["reason"] == "loopback"
    assert asked == ["rebind.example.com", "rebind.example.com"]
    assert fake_web.hits == []


def test_loopback_ipv4_is_refused_by_default(fake_web) -> None:
    url = fake_web.file("/a.jpg", make_image())
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(UserFactory(), url, kind="image")
    assert refused.value.extra["reason"] == "loopback"
    assert fake_web.hits == []
    assert File.objects.count() == 0


@pytest.mark.parametrize(
    "url", ["http://[::1]:8080/a.jpg", "http://[::ffff:127.0.0.1]/a.jpg", "http://localhost/a.jpg"]
)
def test_other_loopback_spellings_are_refused(url) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(UserFactory(), url, kind="image")
    assert refused.value.extra["reason"] == "loopback"


def test_loopback_server_redirecting_to_another_loopback_port_is_refused(fake_web) -> None:
    # Given a loopback server that redirects to another loopback port
    url = fake_web.redirect("/start", "http://127.0.0.1:1/secret")
    # When it is imported with loopback not allowed
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(UserFactory(), url, kind="image")
    # Then neither hop is fetched
    assert refused.value.extra["reason"] == "loopback"
    assert fake_web.hits == []


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://internal.example.com/admin", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("file:///etc/passwd", "scheme"),
    ],
)
def test_every_redirect_hop_is_checked(fake_web, allow_loopback_imports, target, reason) -> None:
    # Given loopback allowed (as in the embedded mode) and a server redirecting inward
    resolver = Resolver({"internal.example.com": ["10.0.0.7"]})
    url = fake_web.redirect("/start", target)
    # When it is imported
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(UserFactory(), url, kind="image", resolve=resolver)
    # Then the first hop was fetched, the redirect target was refused
    assert refused.value.extra["reason"] == reason
    assert fake_web.hits == ["/start"]
    assert File.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_GET",
        "ftp://example.com/a.jpg",
        "data:image/png;base64,AAAA",
        "//example.com/a.jpg",
    ],
)
def test_non_http_schemes_are_refused(url) -> None:
    resolver = Resolver({})
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(UserFactory(), url, kind="image", resolve=resolver)
    assert refused.value.extra["reason"] == "scheme"
    assert resolver.asked == []


def test_redirect_loop_is_bounded(fake_web, allow_loopback_imports, settings) -> None:
    settings.STORAGE_IMPORT_MAX_REDIRECTS = 3
    url = fake_web.redirect("/loop", "/loop")
    with pytest.raises(UnsafeUrl) as refused:
        services.import_from_url(UserFactory(), url, kind="image")
    assert refused.value.extra["reason"] == "too_many_redirects"
    assert fake_web.hits == ["/loop"] * 4


def test_refusal_renders_as_a_clean_400_that_says_why(rf) -> None:
    # The endpoints that take image_url/video_url are the animations app's; they
    # answer with what the project's exception handler makes of the refusal.
    exc = UnsafeUrl("nope", attr="url", reason="private")
    response = ExceptionHandler(exc, {"request": rf.get("/")}).run()
    assert response.status_code == 400
    assert response.data["errors"][0]["code"] == "unsafe_url"
    assert response.data["errors"][0]["reason"] == "private"
