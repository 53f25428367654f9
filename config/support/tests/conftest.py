"""Support's fixtures: a customer with a history (made by the apps' own services, so
the ledger is exact), staff in each role, and the billing fakes for refunds."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory
from animations.models import AnimationTask, Status
from billing import services as billing
from billing.models import PaymentOrder, PaymentRefund
from billing.tests.factories import CreditPackageFactory, PaymentOrderFactory
from billing.tests.ledger import _ledger_stays_exact  # noqa: F401  (every test ends exact)
from billing.tests.simulators import stripe_simulator  # noqa: F401
from storage.models import File


@dataclass
class Customer:
    user: User
    succeeded: AnimationTask
    failed: AnimationTask
    queued: AnimationTask
    stripe_order: PaymentOrder
    wechat_order: PaymentOrder
    refund: PaymentRefund
    result: File


def make_file(owner: User, kind: str, size: int, **extra: object) -> File:
    n = File.objects.count()
    return File.objects.create(
        owner=owner,
        kind=kind,
        backend="local",
        key=f"{owner.pk}/{kind}-{n}",
        content_type={"image": "image/png", "video": "video/mp4", "result": "video/mp4"}[kind],
        size=size,
        sha256="0" * 64,
        **extra,
    )


def make_task(user: User, status: str, *, n: int, **extra: object) -> AnimationTask:
    """A job in ``status`` whose credits went through the ledger as the dispatcher's would."""
    image = make_file(user, "image", 120_000, width=400, height=600)
    video = make_file(user, "video", 2_400_000, duration=3.0, width=320, height=240)
    task = AnimationTask.objects.create(
        user=user,
        type="move",
        model="wan2.2-animate-move",
        mode="wan-std",
        region=user.region,
        image=image,
        video=video,
        video_duration=3.0,
        status=Status.QUEUED,
        credits_reserved=12,
    )
    billing.reserve(user, 12, ref=task.ref, key=f"{task.ref}:reserve")
    if status == Status.SUCCEEDED:
        billing.capture(user, 12, ref=task.ref, key=f"{task.ref}:capture")
        extra.setdefault("result", make_file(user, "result", 5_300_000, source_key=f"r{n}"))
        extra.update(credits_charged=12, provider_task_id=f"dash-ok-{n}")
    elif status in (Status.FAILED, Status.CANCELED):
        billing.release(user, ref=task.ref, key=f"{task.ref}:release")
        extra.update(credits_released=12)
    AnimationTask.objects.filter(pk=task.pk).update(status=status, **extra)
    task.refresh_from_db()
    return task


def paid_order(user: User, provider: str, *, payment_id: str, **extra: object) -> PaymentOrder:
    currency, amount = ("USD", 999) if provider == "stripe" else ("CNY", 3500)
    package = CreditPackageFactory(credits=500, prices={currency: amount})
    order = PaymentOrderFactory(
        user=user,
        provider=provider,
        package=package,
        credits=500,
        amount=amount,
        currency=currency,
        **extra,
    )
    billing.settle_paid(
        order, amount=amount, currency=currency, payment_id=payment_id, source="test"
    )
    order.refresh_from_db()
    return order


@pytest.fixture
def customer() -> Customer:
    user = UserFactory(email="mei@example.com", display_name="Mei", region="cn")
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    SocialAccount.objects.create(user=user, provider="weixin", uid="o-mei-openid")
    billing.grant_bonus(user, 100, key="signup-bonus", reason="sign-up bonus")
    stripe_order = paid_order(
        user, "stripe", payment_id="pi_3MeiPaid", provider_session_id="cs_test_mei"
    )
    wechat_order = paid_order(user, "wechat", payment_id="4200002024120112345678")
    refund = billing.record_refund(
        wechat_order,
        amount=1000,
        out_refund_no="rf-mei-1",
        status="succeeded",
        provider_refund_id="50300001",
        reason="partial, ticket 7",
    )
    succeeded = make_task(user, Status.SUCCEEDED, n=1)
    failed = make_task(
        user,
        Status.FAILED,
        n=2,
        provider_task_id="dash-fail-2",
        error_code="InvalidParameter.DataInspection",
        error_message="The input image has no person in it.",
    )
    queued = make_task(user, Status.QUEUED, n=3)
    return Customer(
        user=user,
        succeeded=succeeded,
        failed=failed,
        queued=queued,
        stripe_order=stripe_order,
        wechat_order=wechat_order,
        refund=refund,
        result=succeeded.result,
    )


@pytest.fixture(autouse=True)
def _roles() -> None:
    """The roles, as the data migration made them: a transactional test elsewhere
    flushes every table, groups included (permissions come back by themselves)."""
    roles = importlib.import_module("config.support.migrations.0001_roles")
    roles.create_roles(django_apps, None)


def staff_in(role: str | None, **extra: object) -> User:
    user = UserFactory(is_staff=True, **extra)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def support_agent() -> User:
    return staff_in("Support", email="agent@example.com")


@pytest.fixture
def support_client(support_agent: User) -> Client:
    return client_for(support_agent)


@pytest.fixture
def finance_client() -> Client:
    return client_for(staff_in("Finance", email="finance@example.com"))


@pytest.fixture
def superuser_client() -> Client:
    return client_for(staff_in(None, email="root@example.com", is_superuser=True))
