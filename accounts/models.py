"""The user: email is the login, there is no username."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


class Region(models.TextChoices):
    """Decides a user's storage backend, payment providers and DashScope endpoint."""

    CN = "cn", _("China")
    GLOBAL = "global", _("Global")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str | None, password: str | None, **extra: Any) -> User:
        email = self.normalize_email(email) if email else None
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(
        self, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if not extra["is_staff"] or not extra["is_superuser"]:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Email may be empty for a WeChat-only account and is
    cleared on erasure, so uniqueness holds only among non-null emails."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    avatar_url = models.URLField(_("avatar URL"), max_length=1000, blank=True)
    region = models.CharField(max_length=8, choices=Region.choices, default=Region.GLOBAL)
    locale = models.CharField(max_length=16, default="en")
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Every JWT carries the generation it was issued under; bumping it ("sign out
    # everywhere", erasure, deactivation) kills access tokens too, not only refresh.
    token_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    if TYPE_CHECKING:
        # allauth's reverse relations: its models ship no types, so the Django
        # plugin cannot add them (EmailAddress, SocialAccount).
        emailaddress_set: RelatedManager[Any]
        socialaccount_set: RelatedManager[Any]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(region__in=["cn", "global"]), name="user_region_valid"
            )
        ]

    def __str__(self) -> str:
        return self.email or self.display_name or str(self.id)

    def clean(self) -> None:
        super().clean()
        if self.email:
            self.email = type(self).objects.normalize_email(self.email)
