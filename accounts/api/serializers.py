"""Request and response shapes of /api/auth/* and /api/users/profile|account."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer as _TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import JoinedRead, check_token_user
from accounts.models import User
from config.db_router import use_primary
from config.rendering import datetime_json

# Contract names of providers; allauth calls WeChat "weixin".
PROVIDER_NAMES = {"weixin": "wechat"}
SIGN_IN_PROVIDERS = ["google", "wechat"]


def user_json(user: User, joined: JoinedRead | None = None) -> dict[str, Any]:
    """The contract's ``user``, built directly (tests hold it equal to
    ``UserSerializer``'s declared fields rendered by DRF)."""
    from accounts import services

    links = services.sign_in_links(user, joined)
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url or None,
        "region": user.region,
        "locale": user.locale,
        "email_verified": links.email_verified,
        "date_joined": datetime_json(user.date_joined),
        "providers": sorted({PROVIDER_NAMES.get(p, p) for p in links.providers}),
    }


class UserSerializer(serializers.ModelSerializer[User]):
    """The contract's ``user``. The fields declare the shape (schema, the tests'
    reference rendering, with the relations prefetched); ``user_json`` renders it."""

    email_verified = serializers.SerializerMethodField()
    avatar_url = serializers.SerializerMethodField()
    providers = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "display_name",
            "avatar_url",
            "region",
            "locale",
            "email_verified",
            "date_joined",
            "providers",
        ]
        read_only_fields = fields

    def get_email_verified(self, user: User) -> bool:
        if not user.email:
            return False
        return any(
            a.verified and a.email.lower() == user.email.lower()
            for a in user.emailaddress_set.all()
        )

    @extend_schema_field(serializers.URLField(allow_null=True, help_text="Null: no avatar."))
    def get_avatar_url(self, user: User) -> str | None:
        return user.avatar_url or None

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=SIGN_IN_PROVIDERS),
            help_text="The sign-in providers linked to this account.",
        )
    )
    def get_providers(self, user: User) -> list[str]:
        names = {PROVIDER_NAMES.get(a.provider, a.provider) for a in user.socialaccount_set.all()}
        return sorted(names)

    def to_representation(self, instance: User) -> dict[str, Any]:
        return user_json(instance)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AuthResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class SocialAuthResponseSerializer(AuthResponseSerializer):
    created = serializers.BooleanField(help_text="True when this sign-in created the account.")


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)


class GoogleLoginSerializer(serializers.Serializer):
    id_token = serializers.CharField(required=False, max_length=8192)
    code = serializers.CharField(required=False, max_length=2048)
    redirect_uri = serializers.CharField(required=False, max_length=2048)
    code_verifier = serializers.CharField(
        required=False, max_length=256, help_text="PKCE verifier, when the SPA used PKCE."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("id_token"):
            return attrs
        if attrs.get("code") and attrs.get("redirect_uri"):
            return attrs
        raise serializers.ValidationError(
            _("Send either id_token, or code and redirect_uri."), code="required"
        )


class WeChatLoginSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=512)


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=512)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)


class KeySerializer(serializers.Serializer):
    key = serializers.CharField(max_length=512)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ProfileSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    avatar_url = serializers.URLField(
        max_length=1000,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Null or empty removes the avatar.",
    )
    locale = serializers.RegexField(
        r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        max_length=16,
        required=False,
        help_text="A language tag such as en or zh-Hans.",
    )

    def validate_avatar_url(self, value: str | None) -> str:
        return value or ""


class EraseAccountSerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=128,
        trim_whitespace=False,
        help_text="Required unless the access token comes from a social sign-in "
        "within the last few minutes.",
    )


class TokenRefreshSerializer(_TokenRefreshSerializer):
    """simplejwt's rotation, refusing tokens of disabled, erased or signed-out users."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])
        with use_primary():
            user = User.objects.filter(
                **{api_settings.USER_ID_FIELD: refresh.get(api_settings.USER_ID_CLAIM)}
            ).first()
        if user is None:
            raise AuthenticationFailed("No active account for this token.", code="user_not_found")
        check_token_user(user, refresh)
        return super().validate(attrs)
