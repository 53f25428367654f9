"""Google's OAuth endpoints on loopback, with an RSA key the test generates.

- ``GET /oauth2/v1/certs``: ``{kid: PEM X.509 certificate}``, as Google's v1 certs.
- ``POST /token``: the authorization-code exchange; checks client id, secret,
  code and the exact redirect_uri, answers ``{access_token, id_token, ...}``
  or Google's ``{"error": "invalid_grant"}`` with 400.
- ``GET /oauth2/v2/userinfo``: the profile for a Bearer access token.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from accounts.tests.fakes.server import Reply, RoutingServer, Seen

ISSUER = "https://accounts.google.com"


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    cert_pem: str


def make_signing_key(kid: str | None = None) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-google-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return SigningKey(kid=kid or secrets.token_hex(8), private_key=key, cert_pem=pem)


class FakeGoogle(RoutingServer):
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = make_signing_key()
        self.codes: dict[str, tuple[str, dict[str, Any]]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        # Off: the token response carries no id_token, so clients must ask userinfo.
        self.include_id_token = True
        self.routes[("GET", "/oauth2/v1/certs")] = self._certs
        self.routes[("POST", "/token")] = self._token
        self.routes[("GET", "/oauth2/v2/userinfo")] = self._userinfo

    @property
    def certs_url(self) -> str:
        return self.base_url + "/oauth2/v1/certs"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def userinfo_url(self) -> str:
        return self.base_url + "/oauth2/v2/userinfo"

    def claims(self, *, sub: str, email: str | None, verified: bool = True, **extra: Any) -> dict:
        now = int(time.time())
        data: dict[str, Any] = {
            "iss": ISSUER,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 3600,
            "name": "Grace Hopper",
            "picture": "https://lh3.googleusercontent.com/a/grace",
        }
        if email:
            data.update(email=email, email_verified=verified)
        data.update(extra)
        return data

    def id_token(self, claims: dict[str, Any], *, key: SigningKey | None = None) -> str:
        key = key or self.key
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})

    def issue_code(self, claims: dict[str, Any], *, redirect_uri: str) -> str:
        code = "4/" + secrets.token_urlsafe(16)
        self.codes[code] = (redirect_uri, claims)
        return code

    def _certs(self, seen: Seen) -> Reply:
        reply = Reply.json({self.key.kid: self.key.cert_pem})
        reply.headers = {"Cache-Control": "public, max-age=19800, must-revalidate"}
        return reply

    def _token(self, seen: Seen) -> Reply:
        form = seen.form
        entry = self.codes.pop(form.get("code", ""), None)
        if (
            form.get("grant_type") != "authorization_code"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return Reply.json({"error": "invalid_client"}, status=401)
        if entry is None or entry[0] != form.get("redirect_uri"):
            return Reply.json(
                {"error": "invalid_grant", "error_description": "Bad Request"}, status=400
            )
        access_token = "ya29." + secrets.token_urlsafe(16)
        self.access_tokens[access_token] = entry[1]
        body = {
            "access_token": access_token,
            "expires_in": 3599,
            "scope": "openid email profile",
            "token_type": "Bearer",
        }
        if self.include_id_token:
            body["id_token"] = self.id_token(entry[1])
        return Reply.json(body)

    def _userinfo(self, seen: Seen) -> Reply:
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        claims = self.access_tokens.get(token)
        if claims is None:
            return Reply.json({"error": "invalid_token"}, status=401)
        return Reply.json(
            {
                "id": claims["sub"],
                "email": claims.get("email"),
                "verified_email": claims.get("email_verified"),
                "name": claims.get("name"),
                "picture": claims.get("picture"),
            }
        )
