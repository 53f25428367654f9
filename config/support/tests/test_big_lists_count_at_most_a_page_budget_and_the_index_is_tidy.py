"""The big changelists never count their whole table, and the index has one
"Accounts" section with labels support understands."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.admin import ProviderEventAdmin
from billing.models import ProviderEvent
from config.pagination import CappedCountPaginator

pytestmark = pytest.mark.django_db

BIG = [
    "/admin/billing/ledgerentry/",
    "/admin/billing/providerevent/",
    "/admin/storage/file/",
    "/admin/animations/animationtask/",
]


def _counts(queries: list[dict]) -> list[str]:
    return [q["sql"] for q in queries if re.search(r"\bCOUNT\(", q["sql"], re.IGNORECASE)]


@pytest.mark.parametrize("url", BIG)
def test_a_big_list_counts_at_most_the_cap_and_scans_no_distinct_values(
    url, superuser_client, customer
) -> None:
    with CaptureQueriesContext(connection) as seen:
        response = superuser_client.get(url)

    assert response.status_code == 200
    counts = _counts(seen.captured_queries)
    assert counts, "the paginator counts once"
    for sql in counts:
        assert f"LIMIT {CappedCountPaginator.cap + 1}" in sql, sql
    assert not [q for q in seen.captured_queries if "DISTINCT" in q["sql"].upper()]


def test_past_the_cap_the_list_shows_the_cap_and_still_pages(
    superuser_client, customer, monkeypatch
) -> None:
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    monkeypatch.setattr(ProviderEventAdmin, "list_per_page", 2)
    for n in range(6):
        ProviderEvent.objects.create(
            provider="stripe", event_id=f"evt_{n}", event_type="charge.refunded", payload={}
        )
    url = "/admin/billing/providerevent/?event_type=charge.refunded"

    first = superuser_client.get(url)
    second = superuser_client.get(url + "&p=2")

    assert first.context["cl"].result_count == 4  # "at least 4": the cap, plus one
    assert [e.event_id for e in first.context["cl"].result_list] == ["evt_5", "evt_4"]
    assert [e.event_id for e in second.context["cl"].result_list] == ["evt_3", "evt_2"]


def test_the_index_has_one_accounts_section_in_words_support_uses(superuser_client) -> None:
    response = superuser_client.get("/admin/")
    sections = response.context["app_list"]
    names = [s["name"] for s in sections]
    labels = {s["name"]: [m["name"] for m in s["models"]] for s in sections}

    assert names.count("Accounts") == 1
    assert names[:5] == ["Accounts", "Credits and payments", "Animations", "Files", "Sign-in setup"]
    assert labels["Accounts"] == [
        "Users (customers and staff)",
        "Email addresses",
        "Sign-in providers linked",
        "Staff two-factor devices",
        "Staff roles",
    ]
    assert labels["Credits and payments"][:4] == [
        "Credit balances",
        "Credit ledger",
        "Payments",
        "Refunds",
    ]
    assert labels["Animations"] == ["Animation jobs"]


def test_a_support_agent_sees_only_what_the_role_reads(support_client) -> None:
    sections = support_client.get("/admin/").context["app_list"]
    labels = [m["name"] for s in sections for m in s["models"]]

    assert "Credit ledger" in labels and "Animation jobs" in labels
    assert "Staff roles" not in labels and "Google and WeChat apps" not in labels
