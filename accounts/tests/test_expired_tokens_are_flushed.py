from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.tasks import flush_expired_tokens
from accounts.tests.factories import UserFactory
from accounts.tokens import issue_tokens

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

    assert flush_expired_tokens() == 2  # the token and its blacklist row
    assert flush_expired_tokens() == 0

    assert OutstandingToken.objects.count() == 1
    assert not BlacklistedToken.objects.exists()
