"""The user's language: what the server writes to them (emails, error ``detail``s).

A user's ``locale`` is a language tag as the console uses it (``en``,
``zh-Hans``). Signed in, requests speak the account's locale; anonymous ones
the request's ``Accept-Language`` (Django's LocaleMiddleware). A new account
starts with the language its sign-up request came in.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from accounts.models import User

# Django's language codes -> the tags the contract and the console use.
_TAGS = {"zh-hans": "zh-Hans"}


def django_language(tag: str | None) -> str:
    """The supported Django language for a tag (``zh-Hans``, ``zh-CN``, ``en-GB``...)."""
    if tag:
        try:
            return translation.get_supported_language_variant(tag.replace("_", "-").lower())
        except LookupError:
            if tag.lower().startswith("zh"):
                return "zh-hans"
    return settings.LANGUAGE_CODE.split("-")[0]


def locale_tag(language: str) -> str:
    """The contract's tag for a Django language code (``zh-hans`` -> ``zh-Hans``)."""
    code = django_language(language)
    return _TAGS.get(code, code)


def activate_for(request: HttpRequest, user: User) -> None:
    """Speak the signed-in user's language for the rest of this request."""
    language = django_language(user.locale)
    translation.activate(language)
    request.LANGUAGE_CODE = language
