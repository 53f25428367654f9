from __future__ import annotations

import pytest
from allauth.socialaccount.models import SocialAccount

from accounts.models import User
from accounts.tests.conftest import WECHAT_APP_ID, bearer
from accounts.tests.factories import UserFactory
from accounts.tests.fakes.wechat import WeChatUser

pytestmark = pytest.mark.django_db

URL = "/api/auth/wechat/login"


def test_wechat_code_signs_up_with_chinese_nickname_intact(api_client, wechat, hook_calls) -> None:
    code = wechat.issue_code(WeChatUser(openid="o-abc", nickname="张小龙🐧", unionid="u-123"))

    response = api_client.post(URL, {"code": code}, REMOTE_ADDR="114.114.114.114")

    assert response.status_code == 200
    body = response.json()
    assert body["created"] is True
    user = User.objects.get()
    assert body["user"]["display_name"] == "张小龙🐧"
    assert user.display_name == "张小龙🐧"
    assert body["user"]["email"] is None
    assert body["user"]["email_verified"] is False
    assert body["user"]["providers"] == ["wechat"]
    assert body["user"]["region"] == "cn"
    assert body["user"]["avatar_url"] == "https://thirdwx.qlogo.cn/mmopen/fake/132"
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == ("weixin", "o-abc")
    assert account.extra_data["unionid"] == "u-123"
    assert account.extra_data["nickname"] == "张小龙🐧"
    assert hook_calls["signup"] == [user]
    exchange = wechat.requests_to("/sns/oauth2/access_token")[0].query
    assert exchange == {
        "appid": WECHAT_APP_ID,
        "secret": "wechat-test-secret",
        "code": code,
        "grant_type": "authorization_code",
    }


def test_two_wechat_users_without_email_are_two_accounts(api_client, wechat) -> None:
    for openid in ("o-1", "o-2"):
        code = wechat.issue_code(WeChatUser(openid=openid, nickname="微信用户"))
        assert api_client.post(URL, {"code": code}).status_code == 200

    assert User.objects.filter(email__isnull=True).count() == 2


def test_returning_wechat_user_signs_in_to_the_same_account(api_client, wechat) -> None:
    first = api_client.post(
        URL, {"code": wechat.issue_code(WeChatUser(openid="o-9", nickname="老王"))}
    )

    second = api_client.post(
        URL, {"code": wechat.issue_code(WeChatUser(openid="o-9", nickname="老王2"))}
    )

    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["user"]["id"] == first.json()["user"]["id"]
    assert User.objects.count() == 1


def test_wechat_errcode_in_http_200_is_a_clean_400(api_client, wechat) -> None:
    # A code WeChat does not know (expired or used): HTTP 200 with errcode 40029.
    response = api_client.post(URL, {"code": "expired-code"})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "wechat_error"
    assert error["errcode"] == 40029
    assert "invalid code" in error["detail"]
    assert not User.objects.exists()
    assert wechat.requests_to("/sns/userinfo") == []


def test_a_wechat_code_works_once(api_client, wechat) -> None:
    code = wechat.issue_code(WeChatUser(openid="o-once", nickname="一次"))
    assert api_client.post(URL, {"code": code}).status_code == 200

    response = api_client.post(URL, {"code": code})

    assert response.status_code == 400
    assert response.json()["errors"][0]["errcode"] == 40029


def test_wechat_errcode_from_userinfo_is_a_clean_400(api_client, wechat) -> None:
    wechat.userinfo_error = {"errcode": 48001, "errmsg": "api unauthorized"}
    code = wechat.issue_code(WeChatUser(openid="o-base", nickname="x"))

    response = api_client.post(URL, {"code": code})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "wechat_error"
    assert response.json()["errors"][0]["errcode"] == 48001
    assert not User.objects.exists()


def test_wechat_never_takes_over_an_existing_account(api_client, wechat) -> None:
    # Given an email account whose owner has the same name as a WeChat user
    owner = UserFactory(email="wang@example.com", display_name="老王", password="owner-pass-99")

    code = wechat.issue_code(WeChatUser(openid="o-wang", nickname="老王"))
    response = api_client.post(URL, {"code": code})

    # Then WeChat gets an account of its own; the owner's is untouched
    assert response.status_code == 200
    assert response.json()["created"] is True
    assert response.json()["user"]["id"] != str(owner.id)
    assert not SocialAccount.objects.filter(user=owner).exists()
    owner.refresh_from_db()
    assert owner.check_password("owner-pass-99")


def test_signed_in_user_links_wechat(api_client, wechat) -> None:
    user = UserFactory(email="me@example.com")
    bearer(api_client, user)

    response = api_client.post(
        URL, {"code": wechat.issue_code(WeChatUser(openid="o-me", nickname="我"))}
    )

    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(user.id)
    assert response.json()["user"]["providers"] == ["wechat"]
    assert User.objects.count() == 1


def test_linking_a_wechat_account_of_someone_else_is_409(api_client, wechat) -> None:
    api_client.post(URL, {"code": wechat.issue_code(WeChatUser(openid="o-taken", nickname="甲"))})
    other = UserFactory()
    bearer(api_client, other)

    response = api_client.post(
        URL, {"code": wechat.issue_code(WeChatUser(openid="o-taken", nickname="甲"))}
    )

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "social_account_taken"
    assert not SocialAccount.objects.filter(user=other).exists()


def test_environment_app_wins_over_admin_apps(settings, wechat, rf) -> None:
    from accounts.adapters import SocialAccountAdapter

    providers = {**settings.SOCIALACCOUNT_PROVIDERS}
    providers["weixin"] = {**providers["weixin"], "APPS": [{"client_id": "wx-env", "secret": "s"}]}
    settings.SOCIALACCOUNT_PROVIDERS = providers

    apps = SocialAccountAdapter().list_apps(rf.get("/"), provider="weixin")

    assert [a.client_id for a in apps] == ["wx-env"]
