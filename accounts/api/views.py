"""Thin views: validate, call ``accounts.services``, shape the answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView

from accounts import errors as account_errors
from accounts import services, social
from accounts.api.serializers import (
    AuthResponseSerializer,
    DetailSerializer,
    EraseAccountSerializer,
    GoogleLoginSerializer,
    KeySerializer,
    LoginSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileSerializer,
    RefreshSerializer,
    RegisterSerializer,
    SocialAuthResponseSerializer,
    TokenPairSerializer,
    UserSerializer,
    WeChatLoginSerializer,
    user_json,
)
from accounts.authentication import JoinedRead, access_token, contract_error, signed_in_user
from accounts.models import User
from accounts.throttles import (
    AuthAccountThrottle,
    AuthIPThrottle,
    EmailResendThrottle,
    PasswordResetAccountThrottle,
    PasswordResetIPThrottle,
    ReauthAccountThrottle,
    RegisterAccountThrottle,
    RegisterIPThrottle,
    SocialAccountThrottle,
    SocialIPThrottle,
)
from accounts.tokens import issue_tokens
from config.schema import TOKEN_NOT_VALID, TOKEN_REVOKED, USER_INACTIVE, USER_NOT_FOUND, errors
from config.throttling import default_throttle_classes

TAG_AUTH = ["auth"]
TAG_USERS = ["users"]


def _valid(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """The request body, validated (400 in the contract's shape otherwise)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _user_data(user: User) -> dict[str, Any]:
    """The user as stored now (a service may just have changed the row)."""
    return user_json(User.objects.get(pk=user.pk))


def _auth_body(user: User, *, method: str, auth_time: int | None = None) -> dict[str, Any]:
    tokens = issue_tokens(user, method=method, auth_time=auth_time)
    return {**tokens, "user": _user_data(user)}


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [RegisterIPThrottle, RegisterAccountThrottle]

    @extend_schema(
        operation_id="auth_register",
        tags=TAG_AUTH,
        request=RegisterSerializer,
        responses={
            201: AuthResponseSerializer,
            **errors(account_errors.EmailTaken, account_errors.InvalidPassword),
        },
        summary="Create an account with email and password; sends a verification email.",
        description="The account is signed in at once. Its sign-up bonus is granted when the "
        "email is verified (POST /api/auth/email/verify), once per email address ever. "
        "An address already in use answers email_taken and its owner is told by email; "
        "attempts are throttled per client address and per email address.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(RegisterSerializer, request)
        user = services.register(request._request, **data)
        return Response(_auth_body(user, method=services.PASSWORD), status=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthIPThrottle, AuthAccountThrottle]

    @extend_schema(
        operation_id="auth_login",
        tags=TAG_AUTH,
        request=LoginSerializer,
        responses={
            200: AuthResponseSerializer,
            **errors(
                account_errors.InvalidCredentials,
                account_errors.TooManyAttempts(
                    "Too many failed sign-ins; try again later.", retry_after=300
                ),
            ),
        },
        summary="Sign in with email and password.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(LoginSerializer, request)
        user = services.authenticate(request._request, **data)
        return Response(_auth_body(user, method=services.PASSWORD))


class _SocialLoginView(APIView):
    """Without a Bearer token: sign in or sign up. With one: link to that user."""

    permission_classes = [AllowAny]
    throttle_classes = [SocialIPThrottle, SocialAccountThrottle]
    method = ""

    def sociallogin(self, request: Request, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def finish(self, request: Request, data: dict[str, Any]) -> Response:
        link_to = request.user if request.user.is_authenticated else None
        login = self.sociallogin(request, data)
        result = services.social_sign_in(request._request, login, link_to=link_to)
        token = access_token(request)
        if link_to is not None and token is not None:
            # Linking proves control of the provider account, not of this user: the
            # tokens keep the original sign-in, so they are no fresher for erasure.
            body = _auth_body(
                result.user,
                method=token.get("amr", services.PASSWORD),
                auth_time=token.get("auth_time", 0),
            )
        else:
            body = _auth_body(result.user, method=self.method)
        return Response({**body, "created": result.created})


_SOCIAL_ERRORS = (
    account_errors.SocialLoginFailed,
    account_errors.AccountDisabled,
    account_errors.SocialAccountTaken,
    account_errors.SignupIncomplete,
    account_errors.ProviderUnavailable,
    account_errors.ProviderNotConfigured,
)

_LINK_NOTE = (
    " With `Authorization: Bearer <access>` the provider account is linked to the "
    "signed-in user instead (409 social_account_taken if it belongs to someone else)."
)


class GoogleLoginView(_SocialLoginView):
    method = social.GOOGLE

    @extend_schema(
        operation_id="auth_google_login",
        tags=TAG_AUTH,
        request=GoogleLoginSerializer,
        responses={
            200: SocialAuthResponseSerializer,
            **errors(account_errors.InvalidIdToken, *_SOCIAL_ERRORS),
        },
        summary="Sign in with Google: an id_token, or an authorization code and redirect_uri.",
        description="A verified Google email joins the account that has it; an email "
        "that is taken but not verified by Google gives 409 signup_incomplete." + _LINK_NOTE,
    )
    def post(self, request: Request) -> Response:
        return self.finish(request, _valid(GoogleLoginSerializer, request))

    def sociallogin(self, request: Request, data: dict[str, Any]) -> Any:
        if data.get("id_token"):
            return social.google_login_from_id_token(request._request, data["id_token"])
        return social.google_login_from_code(
            request._request,
            data["code"],
            redirect_uri=data["redirect_uri"],
            code_verifier=data.get("code_verifier"),
        )


class WeChatLoginView(_SocialLoginView):
    method = social.WECHAT

    @extend_schema(
        operation_id="auth_wechat_login",
        tags=TAG_AUTH,
        request=WeChatLoginSerializer,
        responses={
            200: SocialAuthResponseSerializer,
            **errors(account_errors.WeChatError("invalid code", errcode=40029), *_SOCIAL_ERRORS),
        },
        summary="Sign in with a WeChat OAuth code (400 wechat_error when WeChat refuses).",
        description="WeChat gives no email, so it never joins an existing account." + _LINK_NOTE,
    )
    def post(self, request: Request) -> Response:
        return self.finish(request, _valid(WeChatLoginSerializer, request))

    def sociallogin(self, request: Request, data: dict[str, Any]) -> Any:
        return social.wechat_login_from_code(request._request, data["code"])


class RefreshView(TokenRefreshView):
    # simplejwt's views set it to (), which types it as the empty tuple only.
    permission_classes = [AllowAny]  # type: ignore[assignment]
    authentication_classes = ()

    @extend_schema(
        operation_id="auth_refresh",
        tags=TAG_AUTH,
        request=RefreshSerializer,
        responses={
            200: TokenPairSerializer,
            # token_not_valid: expired, blacklisted or already rotated
            **errors(TOKEN_NOT_VALID, TOKEN_REVOKED, USER_INACTIVE, USER_NOT_FOUND),
        },
        summary="Rotate a refresh token: a new pair; the old refresh token stops working.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed as exc:
            raise contract_error(exc) from exc


class LogoutView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="auth_logout",
        tags=TAG_AUTH,
        request=RefreshSerializer,
        responses={
            204: None,
            **errors(account_errors.InvalidKey("The refresh token is invalid or expired.")),
        },
        summary="Sign out: the refresh token is blacklisted.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(RefreshSerializer, request)
        services.logout(refresh=data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]
    links: JoinedRead | None = None

    def joined_read(self, alias: str, user_id: Any) -> JoinedRead:
        """The sign-in links, read with the user by authentication when it can."""
        self.links = services.sign_in_links_read(alias)
        return self.links

    @extend_schema(
        operation_id="auth_me",
        tags=TAG_AUTH,
        responses={200: UserSerializer},
        summary="The signed-in user.",
    )
    def get(self, request: Request) -> Response:
        # Authentication has just read the user (and, with it, its links) from the primary.
        return Response(user_json(signed_in_user(request), self.links))


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [PasswordResetIPThrottle, PasswordResetAccountThrottle]

    @extend_schema(
        operation_id="auth_password_reset",
        tags=TAG_AUTH,
        request=PasswordResetSerializer,
        responses={202: DetailSerializer},
        summary="Email a password-reset link; 202 whether or not the account exists.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(PasswordResetSerializer, request)
        services.request_password_reset(request._request, email=data["email"])
        return Response(
            {"detail": "If an account uses this address, a reset link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [PasswordResetIPThrottle]

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        tags=TAG_AUTH,
        request=PasswordResetConfirmSerializer,
        responses={
            204: None,
            **errors(account_errors.InvalidKey, account_errors.InvalidPassword),
        },
        summary="Set a new password with the key from the reset email; signs out everywhere.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(PasswordResetConfirmSerializer, request)
        services.reset_password(request._request, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthIPThrottle]

    @extend_schema(
        operation_id="auth_email_verify",
        tags=TAG_AUTH,
        request=KeySerializer,
        responses={204: None, **errors(account_errors.InvalidKey)},
        summary="Verify an email address with the key from the verification email.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(KeySerializer, request)
        services.verify_email(request._request, key=data["key"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailResendView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [EmailResendThrottle]

    @extend_schema(
        operation_id="auth_email_resend",
        tags=TAG_AUTH,
        request=None,
        responses={
            202: DetailSerializer,
            **errors(
                account_errors.NoEmailToVerify,
                account_errors.TooManyAttempts(
                    "A verification email was sent a few minutes ago; wait before resending.",
                    retry_after=180,
                ),
                account_errors.EmailNotSent,
            ),
        },
        summary="Email the signed-in user a new verification link.",
        description="409 no_email_to_verify when there is none, or it is verified; 429 while "
        "the last verification email is recent (one per address every few minutes, the "
        "sign-up email included).",
    )
    def post(self, request: Request) -> Response:
        services.resend_verification_email(request._request, signed_in_user(request))
        return Response(
            {"detail": "A new verification link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class ProfileView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="users_profile_get",
        tags=TAG_USERS,
        responses={200: UserSerializer},
        summary="Your profile.",
    )
    def get(self, request: Request) -> Response:
        return Response(_user_data(signed_in_user(request)))

    @extend_schema(
        operation_id="users_profile_update",
        tags=TAG_USERS,
        request=ProfileSerializer,
        responses={200: UserSerializer},
        summary="Change display name, avatar URL or locale.",
    )
    def put(self, request: Request) -> Response:
        data = _valid(ProfileSerializer, request)
        services.update_profile(signed_in_user(request), **data)
        return Response(_user_data(signed_in_user(request)))


class AccountView(APIView):
    permission_classes = [IsAuthenticated]
    # Erasing re-checks the password: throttled per account, as login is.
    throttle_classes = [*default_throttle_classes(), ReauthAccountThrottle]
    # Named so the schema documents the DELETE body (config.schema.AutoSchema).
    serializer_class = EraseAccountSerializer

    @extend_schema(
        operation_id="users_account_delete",
        tags=TAG_USERS,
        request=EraseAccountSerializer,
        responses={
            204: None,
            **errors(
                account_errors.InvalidCredentials("The password is incorrect.", attr="password"),
                account_errors.ReauthenticationRequired,
            ),
        },
        summary="Delete your account: personal data erased, every token revoked.",
        description="Needs the password, or an access token from a social sign-in within "
        "ACCOUNTS_REAUTH_MAX_AGE seconds (403 reauthentication_required otherwise). "
        "Attempts are throttled per account like sign-in, and wrong passwords count "
        "towards the same failed-login limit as POST /api/auth/login.",
    )
    def delete(self, request: Request) -> Response:
        data = _valid(EraseAccountSerializer, request)
        token = access_token(request)
        services.check_reauthentication(
            request._request,
            signed_in_user(request),
            password=data.get("password") or None,
            auth_method=token.get("amr") if token is not None else None,
            auth_time=token.get("auth_time") if token is not None else None,
        )
        services.erase_account(signed_in_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProviderView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="users_provider_unlink",
        tags=TAG_USERS,
        parameters=[
            OpenApiParameter(
                "provider",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=sorted(services.PROVIDER_IDS),
                description="The sign-in provider to unlink.",
            )
        ],
        responses={
            204: None,
            **errors(account_errors.ProviderNotLinked, account_errors.LastSignInMethod),
        },
        summary="Unlink a sign-in provider (google or wechat) from your account.",
        description="409 last_sign_in_method when nothing would be left to sign in with.",
    )
    def delete(self, request: Request, provider: str) -> Response:
        services.unlink_provider(request._request, signed_in_user(request), provider)
        return Response(status=status.HTTP_204_NO_CONTENT)
