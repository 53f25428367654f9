"""In a real browser: a support agent signs in, searches the customer's email and
reads the customer page; screenshots of each step are kept in var/screenshots/
(BROWSER_SCREENSHOTS_DIR), which CI lists at the end of its run."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

from accounts.tests.factories import UserFactory
from accounts.tests.test_staff_sign_in_is_throttled_and_needs_mfa import PASSWORD, totp_code
from config.tests.browser import save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: object, email: str) -> None:
    page.get_by_label("Email").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def test_a_support_agent_finds_the_customer_by_email_and_reads_the_page(
    page, live_server, customer, support_agent
) -> None:
    # Signs in on the staff's sign-in page
    page.goto(f"{live_server.url}/admin/")
    sign_in(page, support_agent.email)
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
    sign_in(page, support_agent.email)

    page.get_by_role("heading", name="2 matches for “mei@example.com”").wait_for()
    assert page.get_by_role("link", name="mei.work@example.com").count() == 1
    save_screenshot(page, "support-search-results")


def test_with_mfa_required_staff_set_up_an_authenticator_then_sign_in_with_a_code(
    page, live_server, support_agent, settings
) -> None:
    settings.ADMIN_REQUIRE_MFA = True
    page.goto(f"{live_server.url}/admin/")
    save_screenshot(page, "staff-sign-in")
    sign_in(page, support_agent.email)
    # The admin asks for an authenticator first, after the password again
    page.get_by_role("heading", name="Confirm it is you").wait_for()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Activate Authenticator App").wait_for()
    secret = page.get_by_label("Authenticator secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    save_screenshot(page, "staff-mfa-setup")
    page.get_by_role("button", name="Activate").click()
    page.get_by_role("heading", name="Recovery Codes").wait_for()
    save_screenshot(page, "staff-mfa-recovery-codes")
    page.get_by_role("link", name="Continue to the admin").click()
    page.get_by_role("heading", name="Support", exact=True).wait_for()
    # Next time: password, then a recovery code (this period's TOTP code is spent)
    page.get_by_role("button", name="Log out").click()
    page.goto(f"{live_server.url}/admin/")
    sign_in(page, support_agent.email)
    page.get_by_role("heading", name="Two-factor authentication").wait_for()
    save_screenshot(page, "staff-mfa-code")
    totp = Authenticator.objects.get(user=support_agent, type="recovery_codes")
    page.get_by_label("Authenticator or recovery code").fill(
        RecoveryCodes(totp).get_unused_codes()[0]
    )
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Support", exact=True).wait_for()
