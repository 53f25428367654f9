"""WeChat's web-login OAuth endpoints on loopback.

- ``/sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``:
  ``{access_token, expires_in, refresh_token, openid, scope, unionid}``; a bad
  code or app gives HTTP 200 ``{"errcode": 40029, "errmsg": "invalid code"}``
  as WeChat does, and a code works once.
- ``/sns/userinfo?access_token&openid``: the profile, UTF-8 JSON served as
  ``text/plain`` without a charset (as WeChat's API has been seen to), so a
  client that trusts the declared charset would mangle Chinese nicknames.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from accounts.tests.fakes.server import Reply, RoutingServer, Seen

CONTENT_TYPE = "text/plain"


@dataclass
class WeChatUser:
    openid: str
    nickname: str
    unionid: str | None = None
    headimgurl: str = "https://thirdwx.qlogo.cn/mmopen/fake/132"
    extra: dict[str, Any] = field(default_factory=dict)


class FakeWeChat(RoutingServer):
    def __init__(self, *, app_id: str, app_secret: str) -> None:
        super().__init__()
        self.app_id = app_id
        self.app_secret = app_secret
        self.codes: dict[str, WeChatUser] = {}
        self.tokens: dict[str, WeChatUser] = {}
        self.userinfo_error: dict[str, Any] | None = None
        self.routes[("GET", "/sns/oauth2/access_token")] = self._token
        self.routes[("GET", "/sns/userinfo")] = self._userinfo

    @property
    def token_url(self) -> str:
        return self.base_url + "/sns/oauth2/access_token"

    @property
    def userinfo_url(self) -> str:
        return self.base_url + "/sns/userinfo"

    def issue_code(self, user: WeChatUser) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = user
        return code

    def _token(self, seen: Seen) -> Reply:
        q = seen.query
        if q.get("appid") != self.app_id or q.get("secret") != self.app_secret:
            return Reply.json(
                {"errcode": 40125, "errmsg": "invalid appsecret"}, content_type=CONTENT_TYPE
            )
        if q.get("grant_type") != "authorization_code":
            return Reply.json(
                {"errcode": 40002, "errmsg": "invalid grant_type"}, content_type=CONTENT_TYPE
            )
        user = self.codes.pop(q.get("code", ""), None)
        if user is None:
            return Reply.json(
                {"errcode": 40029, "errmsg": "invalid code, rid: 6565a1b2-1234"},
                content_type=CONTENT_TYPE,
            )
        token = secrets.token_hex(16)
        self.tokens[token] = user
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": secrets.token_hex(16),
            "openid": user.openid,
            "scope": "snsapi_login",
        }
        if user.unionid:
            body["unionid"] = user.unionid
        return Reply.json(body, content_type=CONTENT_TYPE)

    def _userinfo(self, seen: Seen) -> Reply:
        if self.userinfo_error is not None:
            return Reply.json(self.userinfo_error, content_type=CONTENT_TYPE)
        user = self.tokens.get(seen.query.get("access_token", ""))
        if user is None or seen.query.get("openid") != user.openid:
            return Reply.json(
                {"errcode": 40001, "errmsg": "invalid credential"}, content_type=CONTENT_TYPE
            )
        body = {
            "openid": user.openid,
            "nickname": user.nickname,
            "sex": 0,
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": user.headimgurl,
            "privilege": [],
            **user.extra,
        }
        if user.unionid:
            body["unionid"] = user.unionid
        return Reply.json(body, content_type=CONTENT_TYPE)
