"""A support agent with the customer's email reaches one page with the balance,
the jobs with their states, the payments and refunds, the files, the sign-in
providers and the region; every list links to its changelist filtered to the
customer, and the page costs a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from billing.services import grant_bonus
from config.support.tests.conftest import make_task, paid_order

pytestmark = pytest.mark.django_db


def page_of(client, customer) -> str:
    response = client.get(f"/admin/support/customer/{customer.user.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_email_leads_a_support_agent_to_the_customer_page(support_client, customer) -> None:
    found = support_client.get("/admin/support/search/", {"q": "MEI@example.com"})

    assert found.status_code == 302
    assert found["Location"] == f"/admin/support/customer/{customer.user.pk}/"


def test_the_page_shows_balance_jobs_payments_files_providers_and_region(
    support_client, customer
) -> None:
    html = page_of(support_client, customer)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))

    # Credits: 100 bonus + 500 + 500 bought, 12 charged, 143 taken back by the
    # partial refund (1000 of 3500 fen of 500 credits, rounded up); 12 reserved
    # by the queued job.
    assert "Balance 945 " in text
    assert "Reserved (running jobs) 12 " in text
    assert "Available 933 " in text
    # Ledger entries, newest first, with their refs and reasons
    assert f"animation_task:{customer.queued.pk}" in html
    assert "sign-up bonus" in html
    # Jobs: state, cost, provider id, error, a link to play the result
    assert "Succeeded" in text and "Failed" in text and "Queued" in text
    assert "dash-ok-1" in html and "dash-fail-2" in html
    assert "InvalidParameter.DataInspection" in html
    assert "The input image has no person in it." in html
    assert html.count(">Play</a>") == 1
    play = re.search(r'href="([^"]+)" target="_blank" rel="noopener">Play<', html)
    assert play is not None and f"/api/videos/files/{customer.result.pk}." in play.group(1)
    assert "sig=" in play.group(1)
    # Payments with the providers' ids, and the refund under its payment
    assert "cs_test_mei" in html and "pi_3MeiPaid" in html
    assert customer.wechat_order.out_trade_no in html and "4200002024120112345678" in html
    assert "9.99 USD" in text and "35.00 CNY" in text and "10.00 CNY" in text
    assert "rf-mei-1" in html and "50300001" in html and "partial, ticket 7" in html
    # Files with sizes; sign-in providers; the sign-up region
    assert "5.1 MB" in text and "117.2 KB" in text
    assert "WeChat: o-mei-openid" in text and "Email and password" in text
    assert "Sign-up region China (cn)" in text
    assert "mei@example.com (not verified, primary)" in text


def test_every_list_links_to_its_changelist_filtered_to_the_customer(
    support_client, customer
) -> None:
    html = page_of(support_client, customer)
    user_id = customer.user.pk
    account_id = customer.user.credit_account.pk
    links = {
        "/admin/billing/ledgerentry/?account__id__exact=": account_id,
        "/admin/animations/animationtask/?user__id__exact=": user_id,
        "/admin/billing/paymentorder/?user__id__exact=": user_id,
        "/admin/billing/paymentrefund/?order__user__id__exact=": user_id,
        "/admin/storage/file/?owner__id__exact=": user_id,
    }
    someone_else = UserFactory()
    grant_bonus(someone_else, 100, key="seed")
    other = make_task(someone_else, "queued", n=9)
    paid_order(someone_else, "stripe", payment_id="pi_other", provider_session_id="cs_other")

    for prefix, pk in links.items():
        url = f"{prefix}{pk}"
        assert url in html, url
        listed = support_client.get(url)
        assert listed.status_code == 200, url
        rows = list(listed.context["cl"].result_list)
        assert rows, url
        owners = {_owner(row) for row in rows}
        assert owners == {user_id}, url
    assert str(other.pk) not in html


def _owner(row: object) -> object:
    for path in ("user_id", "owner_id", "account.user_id", "order.user_id"):
        obj = row
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return obj
    raise AssertionError(row)


def test_objects_with_a_user_link_back_to_the_customer_page(superuser_client, customer) -> None:
    url = f"/admin/support/customer/{customer.user.pk}/"
    pages = [
        f"/admin/accounts/user/{customer.user.pk}/change/",
        "/admin/accounts/user/",
        f"/admin/animations/animationtask/{customer.failed.pk}/change/",
        "/admin/animations/animationtask/",
        f"/admin/billing/paymentorder/{customer.stripe_order.pk}/change/",
        "/admin/billing/paymentorder/",
        f"/admin/billing/paymentrefund/{customer.refund.pk}/change/",
        f"/admin/billing/creditaccount/{customer.user.credit_account.pk}/change/",
        "/admin/billing/ledgerentry/",
        f"/admin/storage/file/{customer.result.pk}/change/",
        "/admin/storage/file/",
    ]
    for page in pages:
        response = superuser_client.get(page)
        assert response.status_code == 200, page
        assert url in response.content.decode(), page


def test_the_page_costs_the_same_queries_however_much_the_customer_has(
    support_client, customer
) -> None:
    with CaptureQueriesContext(connection) as small:
        page_of(support_client, customer)
    for n in range(10, 16):
        make_task(customer.user, "failed", n=n)
        paid_order(customer.user, "stripe", payment_id=f"pi_{n}", provider_session_id=f"cs_{n}")

    with CaptureQueriesContext(connection) as large:
        page_of(support_client, customer)

    # session, staff user, staff permissions (2), customer + emails + social
    # accounts (3), credit account, ledger, jobs, payments + refunds (2), files,
    # file totals, support history
    assert len(small.captured_queries) == 15
    assert len(large.captured_queries) == 15


def test_a_staff_member_without_view_permission_gets_no_customer_page(customer) -> None:
    from config.support.tests.conftest import client_for, staff_in

    nobody = client_for(staff_in(None, email="new-hire@example.com"))

    assert nobody.get(f"/admin/support/customer/{customer.user.pk}/").status_code == 403
    assert nobody.get("/admin/support/search/", {"q": "mei@example.com"}).status_code == 403
