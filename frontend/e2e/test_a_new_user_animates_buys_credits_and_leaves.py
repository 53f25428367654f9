"""The console's main journey, as a person goes through it at desktop width:
sign up, verify the email from its link, upload a picture and a video, run
animate-move and animate-mix to success, play and download the result, see the
history, buy credits through the Stripe and WeChat Pay simulators, read the
ledger, and delete the account."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from frontend.e2e.media import character_png, dance_mp4, write

# The platform writes to the test database from its own processes; this marks
# the journeys as users of it, so pytest-django sets it up.
pytestmark = pytest.mark.django_db

PASSWORD = "violet-harbour-47-kites"
JOB_TIMEOUT = 120_000  # ms; the simulator runs a 3 s clip in a few seconds


def sign_up(page: Page, console, name: str) -> str:
    address = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(console.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Create an animation")).to_be_visible()
    return address


def upload_inputs(page: Page, folder) -> None:
    page.get_by_label("Character image").set_input_files(write(folder, "hero.png", character_png()))
    page.get_by_label("Reference video").set_input_files(write(folder, "dance.mp4", dance_mp4()))
    expect(page.get_by_role("progressbar", name="Uploaded")).to_have_count(2, timeout=30_000)


def watch_to_success(page: Page, heading: str) -> None:
    expect(page).to_have_url(re.compile(r"/tasks/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Succeeded")).to_be_visible(
        timeout=JOB_TIMEOUT
    )


def test_a_new_user_animates_both_ways_buys_credits_and_deletes_the_account(
    console, page: Page, tmp_path, shot
) -> None:
    # Sign up: the console asks to verify the address.
    address = sign_up(page, console, "Mei")
    banner = page.get_by_role("region", name="Email verification")
    expect(banner).to_contain_text(f"Please verify {address}")

    # The emailed link opens the console's own route and verifies the address.
    page.goto(console.link(address, "/verify-email"))
    expect(page.get_by_role("status")).to_contain_text("Your email address is verified")
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Create an animation")).to_be_visible()
    expect(banner).to_be_hidden()

    # Animate-move, standard: the quote is shown before confirming.
    upload_inputs(page, tmp_path)
    expect(page.get_by_role("radio", name=re.compile("Animate-move"))).to_be_checked()
    expect(page.get_by_text("This costs 12 credits. You have 100 available.")).to_be_visible()
    shot(page, "create-desktop-en")
    page.get_by_role("button", name="Start animation").click()
    watch_to_success(page, "Animate-move · Standard")

    # Play the result, then download it.
    result = page.get_by_label("Animation result")
    expect(result).to_be_visible()
    result.evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function(
        "video => video.currentTime > 0.2 && !video.error", arg=result.element_handle()
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    saved = download.value.path()
    assert saved is not None and saved.read_bytes()[4:8] == b"ftyp"
    result.evaluate("video => { video.pause(); video.currentTime = 1.2; }")
    page.wait_for_function("video => !video.seeking", arg=result.element_handle())
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "task-desktop-en", readme=True)

    # Animate-mix, pro.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Create").click()
    upload_inputs(page, tmp_path)
    page.get_by_role("radio", name=re.compile("Animate-mix")).check()
    page.get_by_role("radio", name=re.compile("^Pro")).check()
    expect(page.get_by_text("This costs 27 credits.")).to_be_visible()
    page.get_by_role("button", name="Start animation").click()
    watch_to_success(page, "Animate-mix · Pro")

    # History: both jobs, filtered by type.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    tasks = page.get_by_role("list").filter(
        has=page.get_by_role("link", name=re.compile("Animate-"))
    )
    expect(tasks.get_by_role("listitem")).to_have_count(2)
    page.get_by_label("Type").select_option(label="Animate-mix")
    expect(tasks.get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_role("link", name="Animate-mix · Pro")).to_be_visible()
    shot(page, "history-desktop-en")

    # Credits: what the jobs charged, then a purchase by card through Stripe.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Credits").click()
    ledger = page.get_by_role("table", name="Credit history")
    expect(ledger.get_by_role("row").filter(has_text="Welcome bonus")).to_have_count(1)
    expect(ledger.get_by_role("row").filter(has_text="Animation charged")).to_have_count(2)
    starter = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Starter"))
    starter.get_by_role("button", name=re.compile("^Pay by card")).click()
    page.wait_for_url(re.compile(r"/c/pay/"))  # the Stripe simulator's checkout page
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(re.compile(r"/credits/return\?payment="))
    expect(page.get_by_role("status").filter(has_text="Payment received")).to_be_visible(
        timeout=30_000
    )

    # WeChat Pay native: the QR code, "scanned" by a phone that opens its URL.
    page.get_by_role("link", name="Back to credits").click()
    with page.expect_response(re.compile(r"/api/payments/wechat/create$")) as created:
        starter.get_by_role("button", name=re.compile("^WeChat Pay")).click()
    expect(page.get_by_role("img", name=re.compile("WeChat Pay QR code for"))).to_be_visible()
    shot(page, "wechat-qr-desktop-en")
    code_url = created.value.json()["code_url"]
    phone = page.context.browser.new_context()  # another device: the payer's phone
    phone.set_default_timeout(15_000)
    try:
        cashier = phone.new_page()
        cashier.goto(code_url)
        cashier.get_by_role("button", name="Pay", exact=True).click()
        expect(cashier.get_by_role("heading", name="支付成功")).to_be_visible()
    finally:
        phone.close()
    expect(page.get_by_role("status").filter(has_text="Payment received")).to_be_visible(
        timeout=30_000
    )

    # The ledger and the payments list show both purchases.
    page.get_by_role("link", name="Back to credits").click()
    expect(ledger.get_by_role("row").filter(has_text="Purchase")).to_have_count(2)
    payments = page.get_by_role("table", name="Payments")
    expect(payments.get_by_role("cell", name="Paid", exact=True)).to_have_count(2)
    shot(page, "credits-desktop-en")

    # Delete the account: warned, confirmed with the password, signed out for good.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Delete account")).to_be_visible()
    delete = page.get_by_role("button", name="Delete my account")
    expect(delete).to_be_disabled()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("I understand that my account and files will be deleted for good.").check()
    delete.click()
    expect(page.get_by_role("status")).to_contain_text("Your account has been deleted.")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That email and password do not match")
