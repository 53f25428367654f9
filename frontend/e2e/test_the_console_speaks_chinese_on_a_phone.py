"""A person whose browser prefers Chinese, on a 390 px phone: every page in
Simplified Chinese, the emails in Chinese, server refusals in Chinese, WeChat
Pay's H5 cashier, and the language switch, which the account remembers."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from frontend.e2e.media import character_png, dance_mp4, write
from frontend.e2e.test_a_new_user_animates_buys_credits_and_leaves import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_chinese_speaker_uses_the_console_on_a_phone(
    console, phone_zh: Page, tmp_path, shot
) -> None:
    page = phone_zh
    address = f"li-{uuid.uuid4().hex[:8]}@example.com"

    # Signing up, in Chinese.
    page.goto(console.url)
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    shot(page, "sign-in-phone-zh")
    page.get_by_role("link", name="创建账户").click()
    page.get_by_label("昵称").fill("小李")
    page.get_by_label("邮箱").fill(address)
    page.get_by_label("密码").fill("12345678")
    page.get_by_role("button", name="创建账户").click()
    # Django's own password rules answer in Chinese too.
    expect(page.get_by_label("密码")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(re.compile("密码"), exact=False).last).to_be_visible()
    shot(page, "sign-up-error-phone-zh")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="创建账户").click()
    expect(page.get_by_role("heading", name="创作动画")).to_be_visible()

    # The verification email is in Chinese and opens the console's route.
    [message] = console.messages_to(address)
    assert "请确认你的邮箱地址" in str(message["Subject"])
    page.goto(console.link(address, "/verify-email"))
    expect(page.get_by_role("status")).to_have_text("邮箱地址已验证，谢谢！")
    page.get_by_role("link", name="继续").click()

    # A job, start to finish.
    page.get_by_label("角色图片").set_input_files(write(tmp_path, "hero.png", character_png()))
    page.get_by_label("参考视频").set_input_files(write(tmp_path, "dance.mp4", dance_mp4()))
    expect(page.get_by_role("progressbar", name="已上传")).to_have_count(2, timeout=30_000)
    expect(page.get_by_text("本次消耗 12 积分，你有 100 积分可用。")).to_be_visible()
    shot(page, "create-phone-zh")
    page.get_by_role("button", name="开始生成").click()
    expect(page.get_by_role("heading", name="动作迁移 · 标准")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="已完成")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("link", name="下载")).to_be_visible()
    shot(page, "task-phone-zh")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "task-desktop-zh")
    page.set_viewport_size({"width": 390, "height": 844})

    nav = page.get_by_role("navigation", name="主导航")
    nav.get_by_role("link", name="历史").click()
    expect(page.get_by_role("link", name="动作迁移 · 标准")).to_be_visible()
    shot(page, "history-phone-zh")
    nav.get_by_role("link", name="积分").click()
    expect(page.get_by_role("table", name="积分明细").get_by_text("新用户奖励")).to_be_visible()
    shot(page, "credits-phone-zh")

    # On a phone WeChat Pay goes through WeChat's H5 cashier and comes back.
    starter = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Starter"))
    starter.get_by_role("button", name="微信支付 · ¥29.00").click()
    page.get_by_role("button", name="Pay", exact=True).click()  # the simulator's cashier
    expect(page).to_have_url(re.compile(r"/credits/return\?payment="))
    expect(
        page.get_by_role("status").filter(has_text="已收到付款：100 积分已加入你的余额。")
    ).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="返回积分").click()
    expect(page.get_by_role("table", name="积分明细").get_by_text("购买")).to_be_visible()
    nav.get_by_role("link", name="账户").click()
    expect(page.get_by_label("邮件和提示的语言")).to_have_value("zh-Hans")
    shot(page, "account-phone-zh")

    # A refusal from the server, in Chinese: the wrong password to delete the account.
    page.get_by_label("你的密码").fill("not-my-password")
    page.get_by_label("我明白我的账户和文件将被永久删除。").check()
    page.get_by_role("button", name="删除我的账户").click()
    expect(page.get_by_text("密码不正确。")).to_be_visible()

    # The switch: English from now on, on this device and for the account.
    page.get_by_label("语言", exact=True).select_option("en")
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    expect(page.get_by_label("Language for emails and messages")).to_have_value("en")
    page.reload()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    shot(page, "account-phone-en")
