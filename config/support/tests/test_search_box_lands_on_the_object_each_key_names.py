"""One search box: each key a customer or a provider may quote opens its object."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SEARCH = "/admin/support/search/"


def lands_on(client, query: str) -> str:
    response = client.get(SEARCH, {"q": query})
    assert response.status_code == 302, (query, response.status_code)
    return response["Location"]


def test_each_key_lands_on_its_object(support_client, customer) -> None:
    user = customer.user
    stripe, wechat = customer.stripe_order, customer.wechat_order
    expected = {
        # a customer's email, any case, and a user id
        "mei@example.com": f"/admin/support/customer/{user.pk}/",
        " Mei@Example.com ": f"/admin/support/customer/{user.pk}/",
        str(user.pk): f"/admin/support/customer/{user.pk}/",
        # a job's id and its DashScope task id
        str(customer.failed.pk): f"/admin/animations/animationtask/{customer.failed.pk}/change/",
        "dash-ok-1": f"/admin/animations/animationtask/{customer.succeeded.pk}/change/",
        # a payment's id, Stripe's Checkout Session and PaymentIntent ids
        str(stripe.pk): f"/admin/billing/paymentorder/{stripe.pk}/change/",
        "cs_test_mei": f"/admin/billing/paymentorder/{stripe.pk}/change/",
        "pi_3MeiPaid": f"/admin/billing/paymentorder/{stripe.pk}/change/",
        # WeChat Pay's out_trade_no (our id in hex) and transaction_id
        wechat.out_trade_no: f"/admin/billing/paymentorder/{wechat.pk}/change/",
        "4200002024120112345678": f"/admin/billing/paymentorder/{wechat.pk}/change/",
        # a refund's numbers, a file's id, a WeChat openid
        "rf-mei-1": f"/admin/billing/paymentrefund/{customer.refund.pk}/change/",
        "50300001": f"/admin/billing/paymentrefund/{customer.refund.pk}/change/",
        str(customer.result.pk): f"/admin/storage/file/{customer.result.pk}/change/",
        "o-mei-openid": f"/admin/support/customer/{user.pk}/",
    }

    landed = {query: lands_on(support_client, query) for query in expected}

    assert landed == expected
    for url in set(expected.values()):
        assert support_client.get(url).status_code == 200, url


def test_an_unknown_key_says_nothing_matches_and_a_blank_one_shows_the_box(
    support_client, customer
) -> None:
    missing = support_client.get(SEARCH, {"q": "pi_nobody"})
    blank = support_client.get(SEARCH)

    assert missing.status_code == 200
    assert "Nothing matches “pi_nobody”" in missing.content.decode()
    assert blank.status_code == 200 and b'role="search"' in blank.content


def test_a_key_that_names_several_objects_lists_them(support_client, customer) -> None:
    # A secondary address of another account, the same as this customer's email
    from allauth.account.models import EmailAddress

    other = UserFactory(email="mei.work@example.com")
    EmailAddress.objects.create(user=other, email="mei@example.com", verified=False)

    response = support_client.get(SEARCH, {"q": "mei@example.com"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "2 matches" in html
    assert f"/admin/support/customer/{customer.user.pk}/" in html
    assert f"/admin/support/customer/{other.pk}/" in html


def test_the_box_is_on_the_admin_index(support_client) -> None:
    index = support_client.get("/admin/")

    assert index.status_code == 200
    assert b'action="/admin/support/search/"' in index.content
