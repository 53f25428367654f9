from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.tasks import flush_expired_tokens
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens
from config.celery import app

pytestmark = pytest.mark.django_db


def test_flush_deletes_only_expired_token_records_and_is_safe_to_repeat() -> None:
    user = UserFactory()
    issue_tokens(user, method="password")
    issue_tokens(user, method="password")
    old = OutstandingToken.objects.order_by("created_at").first()
    OutstandingToken.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    BlacklistedToken.objects.create(token=old)

    # when the daily beat task runs (simplejwt's flushexpiredtokens), twice
    flush_expired_tokens.delay()
    assert OutstandingToken.objects.count() == 1
    assert not BlacklistedToken.objects.exists()  # the expired token's row went with it
    flush_expired_tokens.delay()

    # then only the live token's record is left
    assert list(OutstandingToken.objects.values_list("pk", flat=True)) == [
        OutstandingToken.objects.exclude(pk=old.pk).get().pk
    ]


def test_the_beat_runs_the_flush_daily() -> None:
    entry = app.conf.beat_schedule["accounts-flush-expired-tokens"]
    assert entry["task"] == flush_expired_tokens.name == "accounts.flush_expired_tokens"
    assert entry["schedule"] == timedelta(days=1)
