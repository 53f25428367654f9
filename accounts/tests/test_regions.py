from __future__ import annotations

import pytest

from accounts.regions import client_ip, region_for_request


@pytest.fixture
def no_cdn_header(settings) -> None:
    settings.REGION_COUNTRY_HEADER = ""
    settings.TRUSTED_PROXIES = []
    settings.GEOIP_DATABASE_PATH = ""
    settings.DEFAULT_REGION = "global"


def test_embedded_geoip_places_chinese_addresses_in_cn(rf, no_cdn_header) -> None:
    assert region_for_request(rf.get("/", REMOTE_ADDR="1.2.4.8")) == "cn"
    assert region_for_request(rf.get("/", REMOTE_ADDR="240e::1")) == "cn"
    assert region_for_request(rf.get("/", REMOTE_ADDR="8.8.8.8")) == "global"


def test_unknown_addresses_get_the_default_region(rf, no_cdn_header, settings) -> None:
    settings.DEFAULT_REGION = "cn"

    assert region_for_request(rf.get("/", REMOTE_ADDR="10.0.0.7")) == "cn"
    assert region_for_request(rf.get("/", REMOTE_ADDR="not-an-ip")) == "cn"


def test_cdn_country_header_decides_only_when_configured(rf, no_cdn_header, settings) -> None:
    request = rf.get("/", REMOTE_ADDR="8.8.8.8", HTTP_CF_IPCOUNTRY="CN")
    assert region_for_request(request) == "global"  # not configured: a client could send it

    settings.REGION_COUNTRY_HEADER = "HTTP_CF_IPCOUNTRY"

    assert region_for_request(request) == "cn"
    assert (
        region_for_request(rf.get("/", REMOTE_ADDR="1.2.4.8", HTTP_CF_IPCOUNTRY="US")) == "global"
    )
    # The CDN's "unknown" falls through to GeoIP.
    assert region_for_request(rf.get("/", REMOTE_ADDR="1.2.4.8", HTTP_CF_IPCOUNTRY="XX")) == "cn"


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(rf, no_cdn_header) -> None:
    request = rf.get("/", REMOTE_ADDR="8.8.8.8", HTTP_X_FORWARDED_FOR="1.2.4.8")

    assert client_ip(request) == "8.8.8.8"
    assert region_for_request(request) == "global"


def test_x_forwarded_for_is_walked_past_trusted_proxies_only(rf, no_cdn_header, settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.168.1.1/32"]
    # The client forged a first hop; our proxies appended the real address after it.
    request = rf.get(
        "/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="8.8.8.8, 1.2.4.8, 192.168.1.1"
    )

    assert client_ip(request) == "1.2.4.8"
    assert region_for_request(request) == "cn"


def test_maxmind_database_is_used_when_configured(rf, no_cdn_header, settings, tmp_path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    # Given a MaxMind country database (written by the test) that puts 8.8.8.0/24 in China
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-Country", languages=["en"])
    writer.insert_network(IPSet(["8.8.8.0/24"]), {"country": {"iso_code": "CN"}})
    path = tmp_path / "country.mmdb"
    writer.to_db_file(str(path))
    settings.GEOIP_DATABASE_PATH = str(path)

    # Then it, not the embedded database, decides
    assert region_for_request(rf.get("/", REMOTE_ADDR="8.8.8.8")) == "cn"
    # and an address it does not know gets the default, not the embedded answer
    assert region_for_request(rf.get("/", REMOTE_ADDR="1.2.4.8")) == "global"


@pytest.mark.django_db
def test_new_user_region_comes_from_the_request(api_client, no_cdn_header) -> None:
    response = api_client.post(
        "/api/auth/register",
        {"email": "li@example.cn", "password": "river-lantern-83-moss"},
        REMOTE_ADDR="114.114.114.114",
    )

    assert response.status_code == 201
    assert response.json()["user"]["region"] == "cn"
