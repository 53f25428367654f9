"""Production: refuse to start on embedded defaults, turn on the security headers."""

import os

from django.core.exceptions import ImproperlyConfigured

# Payments never go to the local simulators here, whatever the environment says:
# a provider without real keys answers 503 payment_provider_not_configured.
os.environ["PAYMENT_SIMULATORS"] = "false"

from .base import *  # noqa: F403
from .base import (
    DATABASES,
    EMAIL_BACKEND,
    LOG_LEVEL,
    SECRET_KEY,
    SIMPLE_JWT,
    configure_logging,
    env,
)

# Backends that deliver nothing: they print (password-reset keys on stdout), keep
# mail in memory or in files, or drop it.
_DEVELOPMENT_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}

DEBUG = False
# collectstatic ran in the image: WhiteNoise serves STATIC_ROOT, indexed at start.
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
# base.py logs for a console; production logs JSON.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = configure_logging(LOG_FORMAT, LOG_LEVEL)

if not env.str("DJANGO_SECRET_KEY", default="") or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value of 32+ characters.")
if not env.list("DJANGO_ALLOWED_HOSTS", default=[]):
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the hosts this site answers to.")
if not (env.str("DATABASE_URL", default="") or env.str("DATABASE_URL_MASTER", default="")):
    raise ImproperlyConfigured("DATABASE_URL must point at the primary database.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    raise ImproperlyConfigured("Production needs MySQL/MariaDB, not SQLite.")
if not env.str("JWT_SIGNING_KEY", default=""):
    raise ImproperlyConfigured("JWT_SIGNING_KEY must be set (a key of its own, not SECRET_KEY).")
if len(SIMPLE_JWT["SIGNING_KEY"]) < 32:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must be a random value of 32+ characters.")
if SIMPLE_JWT["SIGNING_KEY"] == SECRET_KEY:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from DJANGO_SECRET_KEY.")
if EMAIL_BACKEND in _DEVELOPMENT_MAIL_BACKENDS:
    raise ImproperlyConfigured(
        "EMAIL_URL (or EMAIL_BACKEND) must name a mail backend that delivers, such as "
        f"smtp://user:password@host:587; {EMAIL_BACKEND} would not send verification "
        "and password-reset emails (the console one prints their keys to the logs)."
    )

# Staff reach the admin only with a second factor (allauth MFA: TOTP, recovery codes).
ADMIN_REQUIRE_MFA = env.bool("ADMIN_REQUIRE_MFA", default=True)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Secure-sessionid"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Secure-csrftoken"
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Off unless chosen: joining the browsers' preload list is a commitment for every
# subdomain that is slow to undo, so `check --deploy` is not to nag about it (W021).
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
