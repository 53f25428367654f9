"""Local Stripe and WeChat Pay v3 for the embedded mode (``make run``) and the tests.

One implementation of each protocol: ``manage.py stripe_simulator`` and
``manage.py wechatpay_simulator`` serve them on their ports with the keys under
``var/simulators/`` (``keys.py``), and the test suite starts the same classes
in-process on port 0 (``billing/tests/simulators.py``). They serve loopback
only and deliver notifications only to loopback URLs.
"""

from billing.simulators.keys import StripeKeys, WechatPayKeys, stripe_keys, wechatpay_keys
from billing.simulators.stripe import StripeSimulator, stripe_signature
from billing.simulators.wechatpay import WechatPaySimulator

__all__ = [
    "StripeKeys",
    "StripeSimulator",
    "WechatPayKeys",
    "WechatPaySimulator",
    "stripe_keys",
    "stripe_signature",
    "wechatpay_keys",
]
