"""The keys the payment simulators and the embedded settings share.

Generated once, on first use, under ``var/simulators/`` (mode 0600) and read by
every process from then on: the platform's settings sign and verify with them,
and ``manage.py stripe_simulator`` / ``wechatpay_simulator`` answer with them, so
both sides agree without anything being configured. Creation is atomic (the file
is written aside and hard-linked into place), so processes that start together
end up with one set. Nothing here imports Django: the settings module uses it.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

STRIPE_FILE = "simulators/stripe.json"
WECHATPAY_FILE = "simulators/wechatpay.json"
_ALNUM = string.ascii_letters + string.digits


def _token(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _digits(length: int) -> str:
    return _token(length, string.digits)


@dataclass(frozen=True)
class StripeKeys:
    """A test-mode secret key and the webhook endpoint's signing secret."""

    secret_key: str
    webhook_secret: str

    @classmethod
    def generate(cls) -> StripeKeys:
        return cls(secret_key=f"sk_test_sim{_token(40)}", webhook_secret=f"whsec_{_token(32)}")


@dataclass(frozen=True)
class WechatPayKeys:
    """A merchant (mchid, appid, API key pair and its serial, APIv3 key) and the
    platform's key pair and public-key id, in WeChat Pay v3 public-key mode.

    The platform needs the merchant private key and the platform public key; the
    simulator needs the other halves, which it derives from the same file."""

    mchid: str
    appid: str
    merchant_serial: str
    merchant_private_key: str
    apiv3_key: str
    public_key_id: str
    platform_private_key: str

    @classmethod
    def generate(cls, **fixed: str) -> WechatPayKeys:
        values = {
            "mchid": "19" + _digits(8),
            "appid": "wx" + secrets.token_hex(8),
            "merchant_serial": secrets.token_hex(20).upper(),
            "merchant_private_key": _private_pem(),
            "apiv3_key": _token(32),
            "public_key_id": "PUB_KEY_ID_" + _digits(28),
            "platform_private_key": _private_pem(),
        }
        return cls(**{**values, **fixed})

    @property
    def platform_public_key(self) -> str:
        return _public_pem(self.platform_private_key)

    @property
    def merchant_public_key(self) -> str:
        return _public_pem(self.merchant_private_key)


def _private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,  # wechatpayv3 wants PKCS#8
        serialization.NoEncryption(),
    ).decode()


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _load_or_create(path: Path, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(make(), handle, indent=2)
        try:
            os.link(aside, path)  # atomic; the first process to get here wins
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return json.loads(path.read_text())


def stripe_keys(var_dir: str | os.PathLike[str]) -> StripeKeys:
    """The Stripe simulator's keys under ``var_dir``, created on first use."""
    data = _load_or_create(Path(var_dir) / STRIPE_FILE, lambda: asdict(StripeKeys.generate()))
    return StripeKeys(**data)


def wechatpay_keys(var_dir: str | os.PathLike[str]) -> WechatPayKeys:
    """The WeChat Pay simulator's merchant and platform keys under ``var_dir``,
    created on first use."""
    data = _load_or_create(Path(var_dir) / WECHATPAY_FILE, lambda: asdict(WechatPayKeys.generate()))
    return WechatPayKeys(**data)
