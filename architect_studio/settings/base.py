"""Base settings. Everything environment-dependent comes from architect_studio.env."""

from __future__ import annotations

import logging

import dj_database_url

from architect_studio.env import (
    BASE_DIR,
    detect_mode,
    env_bool,
    env_int,
    env_list,
    env_str,
)

MODE = detect_mode()
log = logging.getLogger("architect_studio")

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or "dev-insecure-secret-key-change-me"  # noqa: S105 - dev default
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

INSTALLED_APPS = [
    # core first: its `migrate` command overrides Django's (routes to the owner role).
    "core",
    "daphne",
    "core.apps.HubAdminConfig",  # django.contrib.admin with the operator-scoped site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "channels",
    "tenancy",
    "entities",
    "integrations",
    "webhooks",
    "webhooks.outgoing",
    "webhooks.incoming",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "architect_studio.urls"
APPEND_SLASH = False
ASGI_APPLICATION = "architect_studio.asgi.application"
WSGI_APPLICATION = "architect_studio.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# `default` is the runtime role (not owner, not superuser, no BYPASSRLS); `owner`
# is the schema owner that `migrate` uses. On SQLite (embedded) there is one alias.
#: Threads per web process serving HTTP (architect_studio.asgi); each holds at
#: most one pooled database connection, so keep it at or below DB_POOL_MAX_SIZE.
WEB_THREADS = env_int("WEB_THREADS", 8)
DB_POOL_MAX = env_int("DB_POOL_MAX_SIZE", 10)
if MODE.embedded_db:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("EMBEDDED_DB_PATH") or str(BASE_DIR / "var" / "embedded.sqlite3"),
            "ATOMIC_REQUESTS": True,
            "OPTIONS": {"timeout": 20},
        }
    }
else:
    _default = dj_database_url.parse(MODE.database_url)
    _default["ATOMIC_REQUESTS"] = True
    _default["CONN_MAX_AGE"] = 0
    # Under ASGI a persistent connection per thread exhausts Postgres: use
    # psycopg's pool (Django ≥ 5.1). Tenant context is transaction-local, so
    # pooled connections never carry one tenant's setting into another request.
    _default.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX, "timeout": 10}
    DATABASES = {"default": _default}
    if MODE.database_admin_url:
        _owner = dj_database_url.parse(MODE.database_admin_url)
        _owner["CONN_MAX_AGE"] = 0
        DATABASES["owner"] = _owner
DATABASE_ROUTERS = ["core.db.OwnerMigrationsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenancy.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# --- i18n: Hebrew first, right-to-left; English available ---------------------
LANGUAGE_CODE = "he"
LANGUAGES = [("he", "עברית"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jerusalem"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True

# --- Redis / Celery / Channels -------------------------------------------------
REDIS_URL = MODE.redis_url
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = MODE.embedded_broker
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "visibility_timeout": 3600}
# A request must not hang when the broker is down: the outbox sweeper covers it.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Each entry expires before its next run, so a backlog never piles up.
    "entities-outbox-sweeper": {
        "task": "entities.tasks.sweep_undispatched_events",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
}
# Each side keeps its entries in a pure-data `beat.py`; installed idempotently by
# django-celery-beat's DatabaseScheduler at beat start.
from integrations.beat import SCHEDULE as _INTEGRATIONS_BEAT  # noqa: E402
from webhooks.incoming.beat import SCHEDULE as _INCOMING_BEAT  # noqa: E402
from webhooks.outgoing.beat import SCHEDULE as _OUTGOING_BEAT  # noqa: E402

CELERY_BEAT_SCHEDULE.update(_OUTGOING_BEAT)
CELERY_BEAT_SCHEDULE.update(_INCOMING_BEAT)
CELERY_BEAT_SCHEDULE.update(_INTEGRATIONS_BEAT)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNELS_PREFIX") or "asgi"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- DRF ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its WWW-Authenticate makes unauthenticated calls 401, not 403.
        "tenancy.authentication.BearerTokenAuthentication",
        "tenancy.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenancy.permissions.IsTenantMember"],
    "DEFAULT_RENDERER_CLASSES": ["djangorestframework_camel_case.render.CamelCaseJSONRenderer"],
    # JSON only, bounded, NUL and lone surrogates refused (core/parsers.py says why).
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.drf.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.drf.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}
# Free-form objects keep their keys as given (header names, mapping keys, payloads).
JSON_UNDERSCOREIZE = {
    "no_underscore_before_number": True,
    "ignore_fields": (
        "headers",
        "forward_headers",
        "field_mappings",
        "external_ids",
        "sync_settings",
        "verification_config",
        "body",
        "response_headers",
        "response_body",
        "data",
        "payload",
        "summary",
        "request_snapshot",
        "response_snapshot",
        "body_value",
        "transform_config",
        "metadata",
        "sample",
        "entity",
    ),
}
# djangorestframework-camel-case reads its options from JSON_CAMEL_CASE.
JSON_CAMEL_CASE = {"JSON_UNDERSCOREIZE": JSON_UNDERSCOREIZE}
SPECTACULAR_SETTINGS = {
    "TITLE": "Architect Studio Integrations Hub API",
    "VERSION": "1.0.0",
    # 3.1: JSON Schema 2020-12, so `propertyNames` (external id keys) is part of the contract.
    "OAS_VERSION": "3.1.0",
    "DESCRIPTION": (
        "Every error is `{\"error\": {\"code\", \"message\", \"fields\"?}}`. Bodies are JSON "
        "(`application/json`, at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes: 413 past it); "
        "strings may not contain NUL (\\u0000) or lone surrogates (400)."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "CAMELIZE_NAMES": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
        "core.schema.strip_trailing_slashes",
        "core.schema.document_errors",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Hub settings --------------------------------------------------------------
INTEGRATION_ENCRYPTION_KEY = env_str("INTEGRATION_ENCRYPTION_KEY")
INTEGRATION_ENCRYPTION_OLD_KEYS = env_list("INTEGRATION_ENCRYPTION_OLD_KEYS", [])
DEV_KEY_FILE = BASE_DIR / "var" / "dev-encryption-key"
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
OUTBOX_REDISPATCH_AFTER_SECONDS = env_int("OUTBOX_REDISPATCH_AFTER_SECONDS", 30)
#: Runs of an event whose subscriber keeps failing before the outbox gives it up
#: (backoff between runs: 10 s doubling, at most an hour: about 4.5 h for 10).
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 10)
WEBHOOK_LOG_RETENTION_DAYS = env_int("WEBHOOK_LOG_RETENTION_DAYS", 14)
INTEGRATION_LOG_RETENTION_DAYS = env_int("INTEGRATION_LOG_RETENTION_DAYS", 30)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
