"""What goes wrong, as a person meets it: a bad file is refused with the reason
(by the console's own look, and by the server, which stays the judge), a job
worth more than the balance offers to buy credits, a session that can no
longer be renewed sends the person to sign in again, and a forgotten password
is reset from the emailed link."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from frontend.e2e.media import character_png, dance_mp4, tiny_png, write
from frontend.e2e.test_a_new_user_animates_buys_credits_and_leaves import PASSWORD, sign_up

pytestmark = pytest.mark.django_db


def test_bad_files_and_a_job_worth_more_than_the_balance_are_explained(
    console, page: Page, tmp_path
) -> None:
    address = sign_up(page, console, "Ola")
    # Verified, the account has its sign-up credits (100).
    page.goto(console.link(address, "/verify-email"))
    page.get_by_role("link", name="Continue").click()
    image = page.get_by_label("Character image")
    video = page.get_by_label("Reference video")

    # The console's own look: a picture too small for DashScope, never uploaded.
    image.set_input_files(write(tmp_path, "tiny.png", tiny_png()))
    expect(page.get_by_role("alert")).to_have_text(
        "The picture is 100×100 px; each side must be at least 200 px."
    )
    expect(page.get_by_role("progressbar")).to_have_count(0)

    # The server reads the file itself: "a video" that is not one is refused.
    video.set_input_files(
        write(tmp_path, "not-a-video.mp4", b"\x00\x01 certainly not a video" * 50)
    )
    expect(
        page.get_by_role("alert").filter(has_text="This file type is not supported.")
    ).to_be_visible()

    # 20 s of animate-mix pro costs 180 credits; the new account has 100.
    image.set_input_files(write(tmp_path, "hero.png", character_png()))
    video.set_input_files(write(tmp_path, "long.mp4", dance_mp4(seconds=20, w=320, h=240, fps=5)))
    expect(page.get_by_role("progressbar", name="Uploaded")).to_have_count(2, timeout=30_000)
    page.get_by_role("radio", name=re.compile("Animate-mix")).check()
    page.get_by_role("radio", name=re.compile("^Pro")).check()
    expect(page.get_by_text("This costs 180 credits. You have 100 available.")).to_be_visible()
    expect(
        page.get_by_role("status").filter(has_text="You do not have enough credits")
    ).to_be_visible()
    page.get_by_role("button", name="Start animation").click()
    refusal = page.get_by_role("alert").filter(has_text="Not enough credits")
    expect(refusal).to_have_text(re.compile("this needs 180 and you have 100"))
    refusal.get_by_role("link", name="Buy credits").click()
    expect(page.get_by_role("heading", name="Credits", exact=True)).to_be_visible()


def test_a_session_that_cannot_be_renewed_asks_to_sign_in_again(console, page: Page) -> None:
    address = sign_up(page, console, "Sam")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()

    # A reload forgets the access token; the refresh token renews it silently.
    page.reload()
    expect(page.get_by_role("heading", name="Your animations")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("credits available"))).to_be_visible()
    expect(page.get_by_text("No animations yet.")).to_be_visible()

    # The refresh token is revoked elsewhere (signed out on another device).
    refresh = page.evaluate("localStorage.getItem('animate.refresh')")
    assert (
        httpx.post(f"{console.url}/api/auth/logout", json={"refresh": refresh}).status_code == 204
    )
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "Your session has expired. Please sign in again."
    )
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Ftasks$"))

    # Signing in again comes back to where the person was.
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your animations")).to_be_visible()


def test_signing_out_revokes_and_a_forgotten_password_is_reset_from_the_emailed_link(
    console, page: Page
) -> None:
    address = sign_up(page, console, "Rui")
    refresh = page.evaluate("localStorage.getItem('animate.refresh')")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # Signing out revoked the refresh token at the server, not only in this tab.
    assert page.evaluate("localStorage.getItem('animate.refresh')") is None
    renewed = httpx.post(f"{console.url}/api/auth/refresh", json={"refresh": refresh})
    assert renewed.status_code == 401

    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("status")).to_contain_text("a reset link is on its way")

    page.goto(console.link(address, "/reset-password", after=1))
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")

    new_password = "copper-meadow-83-wrens"
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("Repeat the new password").fill(new_password)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your password has been changed. Sign in with the new one."
    )
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(new_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Create an animation")).to_be_visible()
