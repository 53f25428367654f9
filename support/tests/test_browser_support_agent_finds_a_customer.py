"""In a real browser: a support agent signs in, searches the customer's email and
reads the customer page; screenshots of each step are kept in var/screenshots/
(BROWSER_SCREENSHOTS_DIR), which CI lists at the end of its run."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from accounts.tests.factories import UserFactory
from config.tests.browser import save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_support_agent_finds_the_customer_by_email_and_reads_the_page(
    page, live_server, customer, support_agent
) -> None:
    # Signs in on the staff's sign-in page
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Email").fill(support_agent.email)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Support", exact=True).wait_for()
    # Searches the email the customer wrote from
    search = page.get_by_role("searchbox", name="Find a customer, job or payment")
    search.fill("mei@example.com")
    save_screenshot(page, "support-search")
    page.get_by_role("button", name="Search").click()
    # And lands on the customer page
    page.get_by_role("heading", name="Customer: mei@example.com").wait_for()
    credits = page.get_by_role("region", name="Credits")
    assert "945" in credits.inner_text()
    jobs = page.get_by_role("region", name="Latest animation jobs")
    assert "dash-fail-2" in jobs.inner_text()
    assert jobs.get_by_role("link", name="Play").count() == 1
    assert jobs.get_by_role("button", name="Retry").count() == 1
    payments = page.get_by_role("region", name="Latest payments and refunds")
    assert "pi_3MeiPaid" in payments.inner_text()
    assert payments.get_by_role("button", name="Refund").count() == 0  # support cannot
    save_screenshot(page, "support-customer-page")


def test_a_key_that_names_several_customers_lists_them(
    page, live_server, customer, support_agent
) -> None:
    other = UserFactory(email="mei.work@example.com")
    EmailAddress.objects.create(user=other, email="mei@example.com", verified=False)
    page.goto(f"{live_server.url}/staff/login/?next=/admin/support/search/%3Fq%3Dmei%40example.com")
    page.get_by_label("Email").fill(support_agent.email)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="2 matches for “mei@example.com”").wait_for()
    assert page.get_by_role("link", name="mei.work@example.com").count() == 1
    save_screenshot(page, "support-search-results")
