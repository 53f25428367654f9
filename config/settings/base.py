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

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=True)
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


def _database(url: str) -> dict:
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.mysql":
        config["OPTIONS"] = {
            "charset": "utf8mb4",
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
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
    "django.contrib.admin",
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
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.db_router.PinningMiddleware",
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

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
            "BACKEND": "django_redis.cache.RedisCache",
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
    for _sub in ("out", "processed"):
        (_celery_fs / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_fs / "out"),
        "data_folder_out": str(_celery_fs / "out"),
        "data_folder_processed": str(_celery_fs / "processed"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
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

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_standardized_errors.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "config.errors.ExceptionHandler",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Animate API",
    "DESCRIPTION": "Character animation with DashScope Wan2.2-Animate: sign-in, uploads, jobs, credits.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
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
    "x-request-id",
]

# LOGGING (structlog; JSON in production, console in development)
# ------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
from config.logging import configure_logging  # noqa: E402

LOGGING = configure_logging(LOG_FORMAT, LOG_LEVEL)
DJANGO_STRUCTLOG_CELERY_ENABLED = True

# PROMETHEUS
# ------------------------------------------------------------------------------
PROMETHEUS_EXPORT_MIGRATIONS = False

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
}
# The region a request is given when nothing else decides it.
DEFAULT_REGION = env.str("DEFAULT_REGION", default="global")

# STORAGE
# ------------------------------------------------------------------------------
# Which backend holds a user's files, by region: local | s3 | oss. Each file
# records its backend, so changing these moves new files only.
STORAGE_BACKEND_CN = env.str("STORAGE_BACKEND_CN", default="local")
STORAGE_BACKEND_GLOBAL = env.str("STORAGE_BACKEND_GLOBAL", default="local")
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
# Result mirroring: attempts on transient errors (5xx, connection), first backoff.
STORAGE_MIRROR_ATTEMPTS = env.int("STORAGE_MIRROR_ATTEMPTS", default=4)
STORAGE_MIRROR_BACKOFF = env.float("STORAGE_MIRROR_BACKOFF", default=1.0)
# Uploads go to a temporary file from the first byte, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0

# BILLING
# ------------------------------------------------------------------------------
# Credits a new account receives once, so a new user can try a job at once.
SIGNUP_BONUS_CREDITS = env.int("SIGNUP_BONUS_CREDITS", default=100)
# How long a pending order stays payable before it is closed at the provider.
PAYMENT_ORDER_TTL_MINUTES = env.int("PAYMENT_ORDER_TTL_MINUTES", default=30)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_SUCCESS_URL = env.str(
    "STRIPE_SUCCESS_URL", default="http://localhost:5173/credits?paid={CHECKOUT_SESSION_ID}"
)
STRIPE_CANCEL_URL = env.str("STRIPE_CANCEL_URL", default="http://localhost:5173/credits")
STRIPE_CURRENCY = env.str("STRIPE_CURRENCY", default="USD")
WECHATPAY_MCHID = env.str("WECHATPAY_MCHID", default="")
WECHATPAY_APPID = env.str("WECHATPAY_APPID", default="")
WECHATPAY_PRIVATE_KEY = env.str("WECHATPAY_PRIVATE_KEY", default="", multiline=True)
WECHATPAY_CERT_SERIAL_NO = env.str("WECHATPAY_CERT_SERIAL_NO", default="")
WECHATPAY_APIV3_KEY = env.str("WECHATPAY_APIV3_KEY", default="")
WECHATPAY_PUBLIC_KEY = env.str("WECHATPAY_PUBLIC_KEY", default="", multiline=True)
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
WECHATPAY_NOTIFY_URL = env.str(
    "WECHATPAY_NOTIFY_URL", default=f"{SITE_URL}/api/payments/webhook/wechat"
)
WECHATPAY_GATEWAY = env.str("WECHATPAY_GATEWAY", default="https://api.mch.weixin.qq.com")
# A notification whose timestamp is further than this from now is refused as a replay.
WECHATPAY_NOTIFY_WINDOW_SECONDS = env.int("WECHATPAY_NOTIFY_WINDOW_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["billing-expire-orders"] = {
    "task": "billing.tasks.expire_pending_orders",
    "schedule": timedelta(minutes=5),
}

# ANIMATIONS
# ------------------------------------------------------------------------------
