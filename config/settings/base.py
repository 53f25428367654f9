"""Settings for every environment, read from the environment (django-environ).

With no variables at all the platform runs on embedded defaults: SQLite under
``var/``, local media files, a local-memory cache, a filesystem Celery broker
and the built-in DashScope simulator. Every variable is listed and explained
in ``.env.example``. ``production.py`` tightens this module; ``test.py`` points
it at MariaDB and Redis.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

# GENERAL
# ------------------------------------------------------------------------------
# Off by default, the embedded mode included: Django's debug pages list the URL
# patterns and settings, and DEBUG keeps every SQL query in memory. What was
# convenient about it stays without it: console logs, static files served by
# WhiteNoise from the apps, JSON error pages (config.middleware).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-embedded-default-key-change-me")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# The externally visible base URL of this server: links in emails and, in the
# embedded default, the URLs of local media handed to the DashScope simulator.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
USE_I18N = True
# Our catalogues (zh_Hans): emails, error details. The .po files are the source;
# the .mo files are compiled by `make run` / `make test` / CI (compilemessages).
LOCALE_PATHS = [BASE_DIR / "locale"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
SITE_ID = 1

# DATABASES
# ------------------------------------------------------------------------------
# DATABASE_URL is the primary; DATABASE_REPLICA_URLS a comma-separated list of
# read replicas. The design's DATABASE_URL_MASTER / DATABASE_URL_SLAVE1..N are
# accepted as aliases.
_primary_url = env.str(
    "DATABASE_URL",
    default=env.str("DATABASE_URL_MASTER", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
)
_replica_urls = env.list("DATABASE_REPLICA_URLS", default=[])
if not _replica_urls:
    _replica_urls = [
        env.str(f"DATABASE_URL_SLAVE{n}")
        for n in range(1, 10)
        if env.str(f"DATABASE_URL_SLAVE{n}", default="")
    ]


# Every socket operation on a MySQL connection is bounded, not only the connect: a
# hung or frozen server costs a query these seconds and an OperationalError (503),
# never a web worker held until gunicorn kills it. A row lock is waited for a little
# less than that, so the server answers a long wait itself (error 1205) before the
# client gives up on the connection.
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
DATABASE_READ_TIMEOUT = env.int("DATABASE_READ_TIMEOUT", default=10)
DATABASE_WRITE_TIMEOUT = env.int("DATABASE_WRITE_TIMEOUT", default=10)


def _database(url: str) -> dict:
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.mysql":
        lock_wait = max(1, DATABASE_READ_TIMEOUT - 2)
        config["OPTIONS"] = {
            "charset": "utf8mb4",
            "isolation_level": "read committed",
            "init_command": (
                f"SET sql_mode='STRICT_TRANS_TABLES', innodb_lock_wait_timeout={lock_wait}"
            ),
            "connect_timeout": DATABASE_CONNECT_TIMEOUT,
            "read_timeout": DATABASE_READ_TIMEOUT,
            "write_timeout": DATABASE_WRITE_TIMEOUT,
        }
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    return config


DATABASES = {"default": _database(_primary_url)}
DATABASE_REPLICAS: list[str] = []
for _n, _url in enumerate(_replica_urls, start=1):
    _alias = f"replica{_n}"
    DATABASES[_alias] = _database(_url)
    if DATABASES[_alias]["ENGINE"] == "django.db.backends.mysql":
        # Reports a failed connection or query to the router at once.
        DATABASES[_alias]["ENGINE"] = "config.db_backends.mysql"
    # In tests a replica reads the test database of the primary's name on its
    # own server: real replication fills it (see scripts/mariadb-replica).
    DATABASES[_alias].setdefault("TEST", {})["MIRROR"] = "default"
    DATABASE_REPLICAS.append(_alias)
DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]
# How long a client that wrote keeps reading the primary (covers replication lag).
DATABASE_PIN_SECONDS = env.int("DATABASE_PIN_SECONDS", default=15)
# A replica lagging more than this many seconds is skipped.
DATABASE_REPLICA_MAX_LAG = env.int("DATABASE_REPLICA_MAX_LAG", default=10)
# How long a replica health verdict is cached per process.
DATABASE_REPLICA_CHECK_INTERVAL = env.float("DATABASE_REPLICA_CHECK_INTERVAL", default=5.0)

# APPS
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    # django.contrib.admin, with support's site (customer page, search, staff MFA).
    "config.support.apps.SupportAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.weixin",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_celery_results",
    "django_prometheus",
    "django_structlog",
]
LOCAL_APPS = [
    "accounts",
    "storage",
    "billing",
    "animations",
    # Support staff's admin: it reads every app above, nothing reads it.
    "config.support",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.middleware.RequestIdMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise: static files, and the web console's build at the site root.
    "config.middleware.StaticFilesMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Django's own 400/404/500 pages as contract JSON, in every mode (DEBUG too).
    "config.middleware.JsonErrorPagesMiddleware",
    # Outside the session middleware, so a session write pins the client too.
    "config.db_router.PinningMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Accept-Language picks the language of anonymous requests; a signed-in
    # user's own locale wins (accounts.authentication).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# STATIC AND MEDIA
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# The web console's build (frontend/dist, from `npm run build`), served at /
# by WhiteNoise and config/console.py.
CONSOLE_DIST_DIR = Path(env.str("CONSOLE_DIST_DIR", default=str(BASE_DIR / "frontend" / "dist")))
WHITENOISE_ROOT = CONSOLE_DIST_DIR
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Without collectstatic (the embedded mode), WhiteNoise finds the apps' static
# files in their own directories when asked; production collects them at build
# time and turns both off.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# EMAIL
# ------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Animate <noreply@localhost>")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# CACHE AND REDIS
# ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis, carrying on in local memory while Redis is down (config/cache.py).
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="animate"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# CELERY
# ------------------------------------------------------------------------------
# With no broker configured, a filesystem broker under var/ lets a separate
# worker process run without any server (the embedded default).
_celery_fs = VAR_DIR / "celery"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # kombu's filesystem transport, writing each message atomically (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    for _sub in ("out", "processed", "control"):
        (_celery_fs / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(_celery_fs / "out"),
        "data_folder_out": str(_celery_fs / "out"),
        "data_folder_processed": str(_celery_fs / "processed"),
        # Kombu's default is ./control, relative to wherever the worker started.
        "control_folder": str(_celery_fs / "control"),
    }
else:
    # Bounded sockets: without socket_timeout a publish (or a probe's connect) to a
    # frozen Redis waits forever on the open connection; it must stay above the
    # consumers' BRPOP timeout (1 s). A publisher (a web request kicking the
    # dispatcher) retries its connection once, not for seconds on end; workers
    # reconnect their consumers on their own schedule (broker_connection_retry).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=3.0),
        "socket_connect_timeout": env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=2.0),
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = timedelta(days=3)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=10 * 60)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic work; each app adds its entries below its own section.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Each worker serves its own /metrics on this port (0: off) and address
# (config/worker_metrics.py); a prefork pool also needs PROMETHEUS_MULTIPROC_DIR.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDRESS = env.str("WORKER_METRICS_ADDRESS", default="127.0.0.1")

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON in, as the contract says; the upload parses multipart itself, the
    # webhooks read the provider's raw body.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # DRF's own, keyed by the client address of config.client_address (TRUSTED_PROXIES).
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.AnonRateThrottle",
        "config.throttling.UserRateThrottle",
        "config.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "config.errors.ExceptionHandler",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    # The error responses the schema class adds where DRF itself may answer them;
    # 401, 429 and 503 are added to every operation by config.schema.postprocess.
    "ALLOWED_ERROR_STATUS_CODES": ["400", "403", "404", "415", "500"],
    # Every one is the contract's single error shape.
    "ERROR_SCHEMAS": dict.fromkeys(
        ["400", "403", "404", "415", "500"], "config.schema.ErrorSerializer"
    ),
}

# Who the schema names as its contact and licence; OpenAPI takes a licence's SPDX
# identifier or its URL, not both.
_api_contact = {
    key: value
    for key, value in {
        "name": env.str("API_CONTACT_NAME", default="Animate support"),
        "email": env.str("API_CONTACT_EMAIL", default=""),
        "url": env.str("API_CONTACT_URL", default=""),
    }.items()
    if value
}
_api_license = {"name": env.str("API_LICENSE_NAME", default="Proprietary")}
if env.str("API_LICENSE_IDENTIFIER", default="LicenseRef-Proprietary"):
    _api_license["identifier"] = env.str("API_LICENSE_IDENTIFIER", default="LicenseRef-Proprietary")
elif env.str("API_LICENSE_URL", default=""):
    _api_license["url"] = env.str("API_LICENSE_URL")
SPECTACULAR_SETTINGS = {
    "TITLE": "Animate API",
    "DESCRIPTION": "Character animation with DashScope Wan2.2-Animate: sign-in, uploads, "
    "jobs, credits.\n\nErrors have one shape everywhere (`Error`): "
    '`{"type", "errors": [{"code", "detail", "attr"}]}`, with extra fields for some codes. '
    "Each error response lists its known `code`s; a client must tolerate others. "
    "401, 429 and 503 may come from any operation that needs a token, and from any "
    "operation, respectively; 429 and 503 say when to retry (`Retry-After`).",
    "VERSION": "1.0.0",
    # OpenAPI 3.1: a nullable object is {"oneOf": [{"$ref": ...}, {"type": "null"}]},
    # which validates (3.0's "nullable" beside a $ref says nothing).
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Relative: the API answers on the host that serves the schema.
    "SERVERS": [{"url": "/", "description": "This deployment"}],
    "CONTACT": _api_contact,
    "LICENSE": _api_license,
    "TAGS": [
        {
            "name": "auth",
            "description": "Sign-up and sign-in (email and password, Google, WeChat), tokens, "
            "email verification, password reset.",
        },
        {
            "name": "users",
            "description": "Your profile, credits and ledger, linked sign-in providers, "
            "account deletion.",
        },
        {"name": "videos", "description": "Uploads, quotes, and starting animation jobs."},
        {"name": "tasks", "description": "Your animation tasks: status, list, cancel, retry."},
        {
            "name": "payments",
            "description": "Credit packages, Stripe and WeChat Pay orders, your payments.",
        },
        {"name": "config", "description": "What this deployment offers, for anyone."},
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ErrorTypeEnum": ["validation_error", "client_error", "server_error"],
        # Several apps have a "status"; name each set (an unresolvable path only warns).
        "PaymentStatusEnum": "billing.models.OrderStatus",
        "TaskStatusEnum": [
            "queued",
            "submitted",
            "running",
            "succeeded",
            "failed",
            "canceled",
        ],
        "TaskTypeEnum": "animations.models.TaskType",
        "ModeEnum": "animations.models.Mode",
        "TradeTypeEnum": ["native", "jsapi", "h5"],
        "SignInProviderEnum": ["google", "wechat"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.postprocess",
    ],
}

# CORS (the single-page app)
# ------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["http://localhost:5173", "http://127.0.0.1:5173"]
)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "last-event-id",
    "x-request-id",
]

# LOGGING (structlog; JSON in production, console otherwise)
# ------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="console")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
from config.logging import configure_logging  # noqa: E402

LOGGING = configure_logging(LOG_FORMAT, LOG_LEVEL)
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# RequestIdMiddleware has already validated (or generated) X-Request-ID.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
# RequestIdMiddleware binds the client address by config.client_address's rule.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False

# SENTRY (errors; off without a DSN; config/sentry.py)
# ------------------------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="") or (
    "production"
    if env.str("DJANGO_SETTINGS_MODULE", default="").endswith(".production")
    else "development"
)
# The running build: SENTRY_RELEASE, else the image's APP_RELEASE (Dockerfile).
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="") or env.str("APP_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# PROMETHEUS
# ------------------------------------------------------------------------------
PROMETHEUS_EXPORT_MIGRATIONS = False
# Who may read /metrics (directly, not through a proxy): loopback and private networks.
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS",
    default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)

# ==============================================================================
# App settings. Each app owns the section below its heading.
# ==============================================================================

# ACCOUNTS
# ------------------------------------------------------------------------------
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=10)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Refuses refresh tokens of disabled, erased or signed-out-everywhere users.
    "TOKEN_REFRESH_SERIALIZER": "accounts.api.serializers.TokenRefreshSerializer",
}
# The region a request is given when nothing else decides it.
DEFAULT_REGION = env.str("DEFAULT_REGION", default="global")
# A country header set by a CDN we trust (e.g. HTTP_CF_IPCOUNTRY); empty: GeoIP.
REGION_COUNTRY_HEADER = env.str("REGION_COUNTRY_HEADER", default="")
# Proxies (CIDRs) whose X-Forwarded-For and X-Request-ID we believe; empty:
# REMOTE_ADDR is the client and every request gets an id of our own.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# A MaxMind country/city database; empty: the embedded iptocc database.
GEOIP_DATABASE_PATH = env.str("GEOIP_DATABASE_PATH", default="")
# The web console: links in verification and password-reset emails, and the
# payment return pages, point there. The platform serves it at SITE_URL itself;
# set this when the console is hosted elsewhere (a CDN).
FRONTEND_URL = env.str("FRONTEND_URL", default=SITE_URL).rstrip("/")
ACCOUNTS_VERIFY_EMAIL_URL = env.str(
    "ACCOUNTS_VERIFY_EMAIL_URL", default=FRONTEND_URL + "/verify-email?key={key}"
)
ACCOUNTS_RESET_PASSWORD_URL = env.str(
    "ACCOUNTS_RESET_PASSWORD_URL", default=FRONTEND_URL + "/reset-password?key={key}"
)
# The key of the hash that remembers an email address after its account is erased
# (the sign-up bonus is once per address ever). Keep it stable: a new key forgets
# every address. Empty: DJANGO_SECRET_KEY.
ACCOUNTS_EMAIL_DIGEST_KEY = env.str("ACCOUNTS_EMAIL_DIGEST_KEY", default="") or SECRET_KEY
# Erasing an account without a password needs a social sign-in this recent (seconds).
ACCOUNTS_REAUTH_MAX_AGE = env.int("ACCOUNTS_REAUTH_MAX_AGE", default=300)
# Google's certificates are cached this long when the response gives no max-age.
ACCOUNTS_GOOGLE_CERTS_CACHE_SECONDS = env.int("ACCOUNTS_GOOGLE_CERTS_CACHE_SECONDS", default=3600)
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].update(
    {
        "auth_ip": env.str("THROTTLE_AUTH_IP", default="30/min"),
        "auth_account": env.str("THROTTLE_AUTH_ACCOUNT", default="10/min"),
        # Register answers email_taken (the contract): bounded per address and per IP.
        "register_ip": env.str("THROTTLE_REGISTER_IP", default="20/hour"),
        "register_account": env.str("THROTTLE_REGISTER_ACCOUNT", default="5/hour"),
        "password_reset_ip": env.str("THROTTLE_PASSWORD_RESET_IP", default="10/hour"),
        "password_reset_account": env.str("THROTTLE_PASSWORD_RESET_ACCOUNT", default="3/hour"),
        "social_ip": env.str("THROTTLE_SOCIAL_IP", default="30/min"),
        "social_account": env.str("THROTTLE_SOCIAL_ACCOUNT", default="10/min"),
        "email_resend": env.str("THROTTLE_EMAIL_RESEND", default="5/hour"),
    }
)

# django-allauth does the account work; our DRF views call its flows.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
# Register answers with tokens at once; email_verified tells the SPA what is pending.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_EMAIL_CONFIRMATION_HMAC = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Animate] "
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# The only HTML sign-in is the staff's, for the admin (accounts/staff.py): allauth's
# login (its failed-login limits per IP and per account), then its MFA stage.
ACCOUNT_FORMS = {"login": "accounts.staff.StaffLoginForm"}
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("ACCOUNTS_LOGIN_FAILED_RATE", default="10/m/ip,5/5m/key"),
}
LOGIN_URL = "account_login"
# Staff must have set up and used an authenticator app (TOTP) to reach the admin.
# Off in the embedded defaults; production.py turns it on.
ADMIN_REQUIRE_MFA = env.bool("ADMIN_REQUIRE_MFA", default=False)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Animate")
# A code from the period just before or after is accepted too (RFC 6238's one step
# of drift): typed as a period ends, or on a phone whose clock is a little off.
# A spent code is still refused.
MFA_TOTP_TOLERANCE = 1
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = False  # WeChat gives no email
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
# Only providers that verify emails (Google, below) may join an existing account.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = env.int("SOCIALACCOUNT_REQUESTS_TIMEOUT", default=5)
# Provider apps: from the environment when set there, else from the admin's
# "Social applications" (one rule, see accounts.adapters.SocialAccountAdapter.list_apps).
# Endpoint URLs are read at call time (accounts.social), so they can point elsewhere.
_google_id = env.str("GOOGLE_CLIENT_ID", default="")
_wechat_id = env.str("WECHAT_APP_ID", default="")
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "APPS": (
            [{"client_id": _google_id, "secret": env.str("GOOGLE_CLIENT_SECRET", default="")}]
            if _google_id
            else []
        ),
        "SCOPE": ["openid", "profile", "email"],
        "EMAIL_AUTHENTICATION": True,
        "CERTS_URL": env.str(
            "GOOGLE_CERTS_URL", default="https://www.googleapis.com/oauth2/v1/certs"
        ),
        "ACCESS_TOKEN_URL": env.str(
            "GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token"
        ),
        "IDENTITY_URL": env.str(
            "GOOGLE_USERINFO_URL", default="https://www.googleapis.com/oauth2/v2/userinfo"
        ),
        "ID_TOKEN_ISSUER": ["https://accounts.google.com", "accounts.google.com"],
    },
    "weixin": {
        "APPS": (
            [{"client_id": _wechat_id, "secret": env.str("WECHAT_APP_SECRET", default="")}]
            if _wechat_id
            else []
        ),
        "SCOPE": ["snsapi_login"],
        "EMAIL_AUTHENTICATION": False,
        "ACCESS_TOKEN_URL": env.str(
            "WECHAT_TOKEN_URL", default="https://api.weixin.qq.com/sns/oauth2/access_token"
        ),
        "PROFILE_URL": env.str(
            "WECHAT_USERINFO_URL", default="https://api.weixin.qq.com/sns/userinfo"
        ),
    },
}
CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"] = {
    "task": "accounts.flush_expired_tokens",
    "schedule": timedelta(days=1),
}

# STORAGE
# ------------------------------------------------------------------------------
STORAGE_S3 = {
    "bucket_name": env.str("STORAGE_S3_BUCKET", default=""),
    "endpoint_url": env.str("STORAGE_S3_ENDPOINT_URL", default="") or None,
    "region_name": env.str("STORAGE_S3_REGION", default="us-east-1"),
    "access_key": env.str("STORAGE_S3_ACCESS_KEY_ID", default="") or None,
    "secret_key": env.str("STORAGE_S3_SECRET_ACCESS_KEY", default="") or None,
    "addressing_style": env.str("STORAGE_S3_ADDRESSING_STYLE", default="") or None,
}
STORAGE_OSS = {
    "bucket_name": env.str("STORAGE_OSS_BUCKET", default=""),
    "endpoint": env.str("STORAGE_OSS_ENDPOINT", default="https://oss-cn-beijing.aliyuncs.com"),
    "access_key_id": env.str("STORAGE_OSS_ACCESS_KEY_ID", default=""),
    "access_key_secret": env.str("STORAGE_OSS_ACCESS_KEY_SECRET", default=""),
}
# Which backend holds a user's files, by region: local | s3 | oss. Unset: OSS for
# cn once an OSS bucket is configured, S3 for global once an S3 bucket is, else
# local files (the embedded default). Each file records its backend, so changing
# these moves new files only.
STORAGE_BACKEND_CN = env.str("STORAGE_BACKEND_CN", default="") or (
    "oss" if STORAGE_OSS["bucket_name"] else "local"
)
STORAGE_BACKEND_GLOBAL = env.str("STORAGE_BACKEND_GLOBAL", default="") or (
    "s3" if STORAGE_S3["bucket_name"] else "local"
)
# Lifetime of signed URLs handed to clients, and to DashScope (which may queue a job).
STORAGE_SIGNED_URL_SECONDS = env.int("STORAGE_SIGNED_URL_SECONDS", default=3600)
STORAGE_PROVIDER_URL_SECONDS = env.int("STORAGE_PROVIDER_URL_SECONDS", default=6 * 3600)
# Input limits (DashScope's) and the bound on mirrored results, in bytes.
STORAGE_MAX_IMAGE_BYTES = env.int("STORAGE_MAX_IMAGE_BYTES", default=5 * 1024 * 1024)
STORAGE_MAX_VIDEO_BYTES = env.int("STORAGE_MAX_VIDEO_BYTES", default=200 * 1024 * 1024)
STORAGE_MAX_RESULT_BYTES = env.int("STORAGE_MAX_RESULT_BYTES", default=500 * 1024 * 1024)
# URL imports: whole-download time limit, redirect bound, and whether loopback
# hosts may be fetched (only for the embedded mode and tests, whose fakes and
# simulator live on 127.0.0.1; never in production).
STORAGE_IMPORT_TIMEOUT = env.float("STORAGE_IMPORT_TIMEOUT", default=60.0)
STORAGE_IMPORT_MAX_REDIRECTS = env.int("STORAGE_IMPORT_MAX_REDIRECTS", default=5)
STORAGE_ALLOW_LOOPBACK_IMPORTS = env.bool("STORAGE_ALLOW_LOOPBACK_IMPORTS", default=False)
# Uploads per user: each is streamed to disk, decoded and stored. A URL import
# (image_url / video_url of an animate request) counts as one.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["uploads"] = env.str("THROTTLE_UPLOADS", default="30/min")
# Uploads go to a temporary file from the first byte, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
# Finish object deletions that failed while a backend was down.
CELERY_BEAT_SCHEDULE["storage-retry-unpurged"] = {
    "task": "storage.retry_unpurged",
    "schedule": timedelta(hours=1),
}

# BILLING
# ------------------------------------------------------------------------------
# Credits a new account receives once its email is verified (or at a social sign-in
# with a verified email), once per address ever (billing.services.grant_signup_bonus);
# 0 turns the bonus off.
SIGNUP_BONUS_CREDITS = env.int("SIGNUP_BONUS_CREDITS", default=100)
# How long a pending order stays payable before it is closed at the provider.
PAYMENT_ORDER_TTL_MINUTES = env.int("PAYMENT_ORDER_TTL_MINUTES", default=30)
# A provider with no credentials talks to its local simulator (manage.py
# stripe_simulator / wechatpay_simulator, started by make run on these ports),
# with keys generated on first use under var/simulators/ and read from there by
# both sides: the embedded default. production.py turns this off, so there a
# provider without real keys answers 503 payment_provider_not_configured.
PAYMENT_SIMULATORS = env.bool("PAYMENT_SIMULATORS", default=True)
STRIPE_SIMULATOR_PORT = env.int("STRIPE_SIMULATOR_PORT", default=8056)
WECHATPAY_SIMULATOR_PORT = env.int("WECHATPAY_SIMULATOR_PORT", default=8057)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
_stripe_simulated = PAYMENT_SIMULATORS and not STRIPE_SECRET_KEY
if _stripe_simulated:
    from billing.simulators.keys import stripe_keys

    _stripe = stripe_keys(VAR_DIR)
    STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET = _stripe.secret_key, _stripe.webhook_secret
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="") or (
    f"http://127.0.0.1:{STRIPE_SIMULATOR_PORT}" if _stripe_simulated else "https://api.stripe.com"
)
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
# How far ahead of our clock a signature's timestamp may be (clock skew).
STRIPE_WEBHOOK_CLOCK_SKEW = env.int("STRIPE_WEBHOOK_CLOCK_SKEW", default=60)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# Where Checkout sends the browser back: {PAYMENT_ID} is our payment's id,
# {CHECKOUT_SESSION_ID} Stripe's session id. The console's return page reads
# the payment (GET /api/payments/{id}) and waits for it to be paid.
STRIPE_SUCCESS_URL = (
    env.str("STRIPE_SUCCESS_URL", default="")
    or FRONTEND_URL + "/credits/return?payment={PAYMENT_ID}"
)
STRIPE_CANCEL_URL = (
    env.str("STRIPE_CANCEL_URL", default="")
    or FRONTEND_URL + "/credits/return?payment={PAYMENT_ID}&canceled=1"
)
STRIPE_CURRENCY = env.str("STRIPE_CURRENCY", default="USD")
WECHATPAY_MCHID = env.str("WECHATPAY_MCHID", default="")
WECHATPAY_APPID = env.str("WECHATPAY_APPID", default="")
WECHATPAY_PRIVATE_KEY = env.str("WECHATPAY_PRIVATE_KEY", default="", multiline=True)
WECHATPAY_CERT_SERIAL_NO = env.str("WECHATPAY_CERT_SERIAL_NO", default="")
WECHATPAY_APIV3_KEY = env.str("WECHATPAY_APIV3_KEY", default="")
WECHATPAY_PUBLIC_KEY = env.str("WECHATPAY_PUBLIC_KEY", default="", multiline=True)
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
_wechatpay_simulated = PAYMENT_SIMULATORS and not any(
    [
        WECHATPAY_MCHID,
        WECHATPAY_APPID,
        WECHATPAY_PRIVATE_KEY,
        WECHATPAY_CERT_SERIAL_NO,
        WECHATPAY_APIV3_KEY,
        WECHATPAY_PUBLIC_KEY,
        WECHATPAY_PUBLIC_KEY_ID,
    ]
)
if _wechatpay_simulated:
    from billing.simulators.keys import wechatpay_keys

    _wechatpay = wechatpay_keys(VAR_DIR)
    WECHATPAY_MCHID, WECHATPAY_APPID = _wechatpay.mchid, _wechatpay.appid
    WECHATPAY_PRIVATE_KEY = _wechatpay.merchant_private_key
    WECHATPAY_CERT_SERIAL_NO = _wechatpay.merchant_serial
    WECHATPAY_APIV3_KEY = _wechatpay.apiv3_key
    WECHATPAY_PUBLIC_KEY = _wechatpay.platform_public_key
    WECHATPAY_PUBLIC_KEY_ID = _wechatpay.public_key_id
WECHATPAY_NOTIFY_URL = (
    env.str("WECHATPAY_NOTIFY_URL", default="") or f"{SITE_URL}/api/payments/webhook/wechat"
)
WECHATPAY_GATEWAY = env.str("WECHATPAY_GATEWAY", default="") or (
    f"http://127.0.0.1:{WECHATPAY_SIMULATOR_PORT}"
    if _wechatpay_simulated
    else "https://api.mch.weixin.qq.com"
)
# Where WeChat's H5 cashier sends the browser after paying ({PAYMENT_ID} as above);
# appended to h5_url as its redirect_url.
WECHATPAY_H5_REDIRECT_URL = (
    env.str("WECHATPAY_H5_REDIRECT_URL", default="")
    or FRONTEND_URL + "/credits/return?payment={PAYMENT_ID}"
)
# A notification whose timestamp is further than this from now is refused as a replay.
WECHATPAY_NOTIFY_WINDOW_SECONDS = env.int("WECHATPAY_NOTIFY_WINDOW_SECONDS", default=300)
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["payments"] = env.str(
    "THROTTLE_PAYMENTS", default="20/min"
)
CELERY_BEAT_SCHEDULE["billing-expire-orders"] = {
    "task": "billing.tasks.expire_pending_orders",
    "schedule": timedelta(minutes=5),
}
# Pending orders this old are settled from the provider's answer, in case their
# notification was lost (WeChat stops retrying after a day, Stripe after three).
PAYMENT_RECONCILE_AFTER_MINUTES = env.int("PAYMENT_RECONCILE_AFTER_MINUTES", default=15)
CELERY_BEAT_SCHEDULE["billing-reconcile-orders"] = {
    "task": "billing.tasks.reconcile_pending_orders",
    "schedule": timedelta(minutes=10),
}

# ANIMATIONS
# ------------------------------------------------------------------------------
# DashScope, per region (cn = Beijing, global = Singapore). A region with no
# API key talks to the local simulator (``manage.py dashscope_simulator``, on
# DASHSCOPE_SIMULATOR_PORT) with its built-in key: the embedded default.
DASHSCOPE_SIMULATOR_PORT = env.int("DASHSCOPE_SIMULATOR_PORT", default=8055)
_dashscope_simulator = f"http://127.0.0.1:{DASHSCOPE_SIMULATOR_PORT}/api/v1"
_dashscope_regions = {
    "cn": "https://dashscope.aliyuncs.com/api/v1",
    "global": "https://dashscope-intl.aliyuncs.com/api/v1",
}
DASHSCOPE_API_KEYS: dict[str, str] = {}
DASHSCOPE_BASE_URLS: dict[str, str] = {}
for _region, _real_url in _dashscope_regions.items():
    _key = env.str(f"DASHSCOPE_API_KEY_{_region.upper()}", default="")
    DASHSCOPE_API_KEYS[_region] = _key or "sk-simulator"
    DASHSCOPE_BASE_URLS[_region] = env.str(
        f"DASHSCOPE_BASE_URL_{_region.upper()}",
        default=env.str("DASHSCOPE_BASE_URL", default=_real_url if _key else _dashscope_simulator),
    ).rstrip("/")
DASHSCOPE_CONNECT_TIMEOUT = env.float("DASHSCOPE_CONNECT_TIMEOUT", default=5.0)
DASHSCOPE_READ_TIMEOUT = env.float("DASHSCOPE_READ_TIMEOUT", default=30.0)
# The documented limits, per API key: create-task and query requests per second,
# and tasks in flight at the provider (1 unless the account was raised).
DASHSCOPE_SUBMIT_RPS = env.int("DASHSCOPE_SUBMIT_RPS", default=5)
DASHSCOPE_QUERY_RPS = env.int("DASHSCOPE_QUERY_RPS", default=20)
DASHSCOPE_MAX_IN_FLIGHT = env.int("DASHSCOPE_MAX_IN_FLIGHT", default=1)
# Provider durations (expected run time, poll intervals, the 3 h limit) are divided
# by this and the rate limits multiplied: 1 against DashScope; the embedded
# simulator runs 10x faster so a local job takes seconds, not minutes.
ANIMATIONS_TIME_SCALE = env.float(
    "ANIMATIONS_TIME_SCALE",
    default=10.0 if all(u == _dashscope_simulator for u in DASHSCOPE_BASE_URLS.values()) else 1.0,
)
# Credits per second of reference video, by model and mode; in proportion to
# DashScope's prices (move 0.4/0.6, mix 0.6/0.9 CNY/s).
ANIMATIONS_CREDITS_PER_SECOND = env.json(
    "ANIMATIONS_CREDITS_PER_SECOND",
    default={
        "wan2.2-animate-move": {"wan-std": 4, "wan-pro": 6},
        "wan2.2-animate-mix": {"wan-std": 6, "wan-pro": 9},
    },
)
# How long a worker owns a claimed task before another may take it over. A live
# worker renews it every third of that while it waits on the provider or copies a
# result (animations.services.common.Heartbeat), so a dead worker's task, and the
# key's one create slot, are taken over this many seconds after it died.
ANIMATIONS_LEASE_SECONDS = env.int("ANIMATIONS_LEASE_SECONDS", default=10)
# Tasks polled per dispatcher run, and the beat interval of the dispatcher: a
# finished job waits up to one interval for its poll, so it is kept short (a run
# with nothing due is two indexed queries).
ANIMATIONS_DISPATCH_BATCH = env.int("ANIMATIONS_DISPATCH_BATCH", default=50)
ANIMATIONS_DISPATCH_INTERVAL = env.float("ANIMATIONS_DISPATCH_INTERVAL", default=1.0)
# Retryable submit failures (429, 5xx, timeouts) tolerated before a task fails.
ANIMATIONS_SUBMIT_MAX_TRIES = env.int("ANIMATIONS_SUBMIT_MAX_TRIES", default=20)
# A create call that could not reach the provider at all (refused, no route) sent
# nothing and spends no try; a task waits, queued, for this many provider seconds
# of such failures in a row before it fails (credits released).
ANIMATIONS_SUBMIT_UNREACHABLE_SECONDS = env.float(
    "ANIMATIONS_SUBMIT_UNREACHABLE_SECONDS", default=3600.0
)
# Live updates (GET /api/tasks/events, animations.events): a comment line this
# often keeps proxies from closing an idle stream, and the token is checked again
# (a revoked one ends the stream); each user's last changes, about this many and
# for this long after the latest, are kept for a stream that resumes with
# Last-Event-ID. Without Redis (the embedded mode) the events are database rows,
# read every TASK_EVENTS_POLL_SECONDS.
TASK_EVENTS_HEARTBEAT_SECONDS = env.float("TASK_EVENTS_HEARTBEAT_SECONDS", default=15.0)
TASK_EVENTS_BACKLOG = env.int("TASK_EVENTS_BACKLOG", default=200)
TASK_EVENTS_BACKLOG_SECONDS = env.int("TASK_EVENTS_BACKLOG_SECONDS", default=86400)
TASK_EVENTS_POLL_SECONDS = env.float("TASK_EVENTS_POLL_SECONDS", default=1.0)
CELERY_BEAT_SCHEDULE["animations-dispatch"] = {
    "task": "animations.tasks.dispatch",
    "schedule": ANIMATIONS_DISPATCH_INTERVAL,
}
