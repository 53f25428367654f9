"""Billing's business rules, the only place they live.

- ``ledger``: credit accounts and their append-only entries (the interface other
  apps use: ``reserve``, ``capture``, ``release``, grants, ``refund``, ``adjust``),
  and ``check_ledger``.
- ``orders``: packages, payment orders at Stripe and WeChat Pay, settling them
  once, refunds, reconciliation and expiry.
- ``refunds``: refunds of paid orders, full or partial, and their failures.
- ``notifications``: provider notifications stored as received, applied once.
"""

from billing.services.ledger import (
    SIGNUP_BONUS_KEY,
    account_for,
    adjust,
    capture,
    check_ledger,
    ensure_available,
    grant_bonus,
    grant_purchase,
    grant_signup_bonus,
    grant_signup_bonus_hook,
    open_reservations,
    recent_entries,
    refund,
    register_reservation_check,
    release,
    reserve,
    reverse_refund,
    signup_bonus,
    user_entries,
)
from billing.services.notifications import (
    process_event,
    receive_stripe_event,
    receive_wechat_notification,
    record_event,
    replay_events,
)
from billing.services.orders import (
    DEFAULT_PACKAGES,
    active_packages,
    create_default_packages,
    create_stripe_order,
    create_wechat_order,
    detach_personal_data,
    expire_pending_orders,
    order_for,
    payment_methods,
    reconcile_order,
    reconcile_pending,
    settle_paid,
    settle_unpaid,
    user_orders,
)
from billing.services.reads import joined_credits_read, shown_credits
from billing.services.refunds import (
    reconcile_refunds,
    record_refund,
    refund_order,
    settle_refund,
)

__all__ = [
    "DEFAULT_PACKAGES",
    "SIGNUP_BONUS_KEY",
    "account_for",
    "active_packages",
    "adjust",
    "capture",
    "check_ledger",
    "create_default_packages",
    "create_stripe_order",
    "create_wechat_order",
    "detach_personal_data",
    "ensure_available",
    "expire_pending_orders",
    "grant_bonus",
    "grant_purchase",
    "grant_signup_bonus",
    "grant_signup_bonus_hook",
    "joined_credits_read",
    "open_reservations",
    "order_for",
    "payment_methods",
    "process_event",
    "receive_stripe_event",
    "receive_wechat_notification",
    "recent_entries",
    "reconcile_order",
    "reconcile_pending",
    "reconcile_refunds",
    "record_event",
    "record_refund",
    "refund",
    "refund_order",
    "register_reservation_check",
    "release",
    "replay_events",
    "reserve",
    "reverse_refund",
    "settle_paid",
    "settle_refund",
    "settle_unpaid",
    "shown_credits",
    "signup_bonus",
    "user_entries",
    "user_orders",
]
