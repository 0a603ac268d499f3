"""Base settings. Everything environment-dependent comes from architect_studio.env."""

from __future__ import annotations

import logging
import os
import sys

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers

from architect_studio.env import (
    BASE_DIR,
    detect_mode,
    env_bool,
    env_int,
    env_list,
    env_str,
    services_required,
    wants_owner_alias,
)

# Under the test settings there is no embedded fallback: missing services fail loudly.
MODE = detect_mode(require_services=services_required())
#: ``production`` turns on the guardrails (core.guardrails): the process refuses
#: to start when it is configured unsafely, and cookies are sent over HTTPS only.
DJANGO_ENV = (env_str("DJANGO_ENV") or "development").strip().lower()
PRODUCTION = DJANGO_ENV == "production"
#: The dev default below; core.guardrails refuses it in production.
INSECURE_DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105
log = logging.getLogger("architect_studio")

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or INSECURE_DEFAULT_SECRET_KEY
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or "http://localhost:8000").rstrip("/")
# The SPA on its own origin(s) (comma-separated, scheme://host[:port]): CORS with
# credentials for exactly these (django-cors-headers), the same list for the
# WebSocket origin check (architect_studio.asgi) and for CSRF on session calls.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = True  # only ever sent for an allowed origin
CORS_URLS_REGEX = r"^/(api|ws)/.*$"
CORS_ALLOW_HEADERS = (*cors_default_headers, "x-tenant-id")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL, *CORS_ALLOWED_ORIGINS]
#: A WebSocket's token or session (and membership) is re-checked this often; the
#: socket is closed once the token is revoked or the member removed.
WS_AUTH_RECHECK_SECONDS = env_int("WS_AUTH_RECHECK_SECONDS", 60)

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
    "django.contrib.humanize",  # naturaltime: "last sync" as relative time, translated
    "corsheaders",
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
    "core.middleware.RequestLogMiddleware",  # first: times and tags everything below it
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before CommonMiddleware: preflights are answered before anything else runs.
    "corsheaders.middleware.CorsMiddleware",
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
# `default` is the runtime role (not owner, not superuser, no BYPASSRLS);
# `operator` the cross-tenant role (BYPASSRLS, owns nothing) that only
# core.tenant_context.operator_scope routes to; `owner` the schema owner, present
# only in `manage.py migrate` (and the few commands in env.OWNER_COMMANDS) — web,
# worker and beat never hold its credentials. On SQLite (embedded) there is one alias.
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
    # Health checks: with a pool (Django 5.2) CONN_HEALTH_CHECKS makes psycopg_pool
    # test each connection (one empty round trip) as it leaves the pool and
    # replace it if the server closed it, so after a PostgreSQL restart or a
    # terminated backend the next request gets a live connection, not a 500.
    _default["CONN_HEALTH_CHECKS"] = True
    _default.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX, "timeout": 10}
    DATABASES = {"default": _default}
    if MODE.database_operator_url:
        _operator = dj_database_url.parse(MODE.database_operator_url)
        _operator["CONN_MAX_AGE"] = 0
        _operator.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 0, "max_size": env_int("DB_OPERATOR_POOL_MAX_SIZE", 4), "timeout": 10,
        }
        DATABASES["operator"] = _operator
    if MODE.database_admin_url and wants_owner_alias(sys.argv):
        _owner = dj_database_url.parse(MODE.database_admin_url)
        _owner["CONN_MAX_AGE"] = 0
        DATABASES["owner"] = _owner
# Whatever runs in this process (and its children) cannot read the owner's
# credentials back from the environment unless it is migrate.
if not wants_owner_alias(sys.argv):
    os.environ.pop("DATABASE_ADMIN_URL", None)
DATABASE_ROUTERS = ["core.db.RoleRouter"]
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
# Bounded socket timeouts: a hung Redis (accepting, never answering) fails a
# publish in seconds instead of holding the caller forever; the worker's
# consumer reconnects on its own (broker_connection_max_retries: forever).
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 3, "visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# kombu's Redis transport without the restore-on-close step that killed the
# worker on a broker outage (see core/broker.py).
CELERY_BROKER_TRANSPORT = "core.broker:Transport" if REDIS_URL else None
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A request must not hang when the broker is down: the outbox sweeper covers it.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Sync runs and exports have their own queue and worker (Procfile `sync`): a 10,000-event
# import never waits in front of a webhook delivery. The default worker consumes only "celery".
CELERY_TASK_ROUTES = {
    "integrations.tasks.sync_run": {"queue": "sync"},
    "integrations.tasks.sync_export": {"queue": "sync"},
    # Push channels call the provider (a Graph subscription waits for its validation round trip).
    "integrations.tasks.push_reconcile_integration": {"queue": "sync"},
    "integrations.tasks.maintain_push_channels": {"queue": "sync"},
}
#: A running sync whose heartbeat (written every page) is older than this lost its worker.
SYNC_RUN_STALE_SECONDS = env_int("SYNC_RUN_STALE_SECONDS", 300)
#: Realtime import by provider push needs an https PUBLIC_BASE_URL (Google and Graph deliver to
#: https only); this lets a local setup ask for channels on plain http (the provider may refuse).
INTEGRATIONS_PUSH_ALLOW_HTTP = env_bool("INTEGRATIONS_PUSH_ALLOW_HTTP", DEBUG)
# Outlook Calendar: the calendarView delta window fixed when a full listing starts, and its page size.
OUTLOOK_CALENDAR_WINDOW_PAST_DAYS = env_int("OUTLOOK_CALENDAR_WINDOW_PAST_DAYS", 365)
OUTLOOK_CALENDAR_WINDOW_FUTURE_DAYS = env_int("OUTLOOK_CALENDAR_WINDOW_FUTURE_DAYS", 730)
OUTLOOK_CALENDAR_PAGE_SIZE = env_int("OUTLOOK_CALENDAR_PAGE_SIZE", 100)
CELERY_BEAT_SCHEDULER = "core.beat_scheduler:DatabaseScheduler"  # the stock one, riding out database errors
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Each entry expires before its next run, so a worker outage does not queue
    # thousands of sweeps: `expire_seconds`, the option django-celery-beat's
    # DatabaseScheduler stores (it silently drops `expires`).
    "entities-outbox-sweeper": {
        "task": "entities.tasks.sweep_undispatched_events",
        "schedule": 10.0,
        "options": {"expire_seconds": 9},
    },
    # Growing tables, purged like the logs (ENTITY_EVENT_RETENTION_DAYS, API_TOKEN_RETENTION_DAYS).
    "entities-events-retention": {
        "task": "entities.tasks.cleanup_entity_events",
        "schedule": 3600.0,
        "options": {"expire_seconds": 3000},
    },
    "tenancy-sessions-and-tokens-cleanup": {
        "task": "tenancy.tasks.cleanup_sessions_and_tokens",
        "schedule": 3600.0,
        "options": {"expire_seconds": 3000},
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
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.CamelCaseJSONRenderer"],
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
        "settings",  # Integration.settings, stored camelCase as the seed writes it
        "local",  # mapping preview: the sample records and what they become
        "remote",
        "to_remote",
        "to_local",
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
#: Redis of the providers' token buckets (integrations.ratelimit); empty = REDIS_URL.
INTEGRATIONS_RATELIMIT_REDIS_URL = env_str("INTEGRATIONS_RATELIMIT_REDIS_URL")
OUTBOX_REDISPATCH_AFTER_SECONDS = env_int("OUTBOX_REDISPATCH_AFTER_SECONDS", 30)
#: Runs of an event whose subscriber keeps failing before the outbox gives it up
#: (backoff between runs: 10 s doubling, at most an hour: about 4.5 h for 10).
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 10)
WEBHOOK_LOG_RETENTION_DAYS = env_int("WEBHOOK_LOG_RETENTION_DAYS", 14)
# --- /metrics for Prometheus (core.metrics) -------------------------------------
#: Bearer token Prometheus sends (``authorization: {credentials: ...}`` in its scrape config).
METRICS_TOKEN = env_str("METRICS_TOKEN") or ""
#: Peer addresses or networks (comma-separated, e.g. ``10.0.0.0/8,127.0.0.1``) allowed to scrape.
#: With neither this nor METRICS_TOKEN set, /metrics answers 404; with both, both must match.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
#: The *_window metrics (outcomes, latency, records) cover this many seconds back.
METRICS_WINDOW_SECONDS = env_int("METRICS_WINDOW_SECONDS", 300)
#: At most this many log rows are read for a window's latency quantiles and records.
METRICS_MAX_ROWS = env_int("METRICS_MAX_ROWS", 20000)
#: Each query of a scrape is cancelled after this long (PostgreSQL statement_timeout).
METRICS_STATEMENT_TIMEOUT_MS = env_int("METRICS_STATEMENT_TIMEOUT_MS", 2000)
INTEGRATION_LOG_RETENTION_DAYS = env_int("INTEGRATION_LOG_RETENTION_DAYS", 30)
#: Processed outbox rows (entity_events) are kept this long, then purged hourly.
ENTITY_EVENT_RETENTION_DAYS = env_int("ENTITY_EVENT_RETENTION_DAYS", 14)
#: Revoked or expired API tokens are kept this long (audit), then purged hourly.
API_TOKEN_RETENTION_DAYS = env_int("API_TOKEN_RETENTION_DAYS", 30)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# In production cookies travel over HTTPS only and browsers are told to stay on
# HTTPS (HSTS). Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER to the
# header it sets (e.g. X-Forwarded-Proto) so Django knows the request was HTTPS.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_header and _proxy_header.strip().lower() in ("1", "true", "yes", "on"):
    _proxy_header = "X-Forwarded-Proto"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_header.strip().upper().replace("-", "_"), "https") if _proxy_header else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Logging: quiet by default, LOG_LEVEL raises it, LOG_FORMAT=json for pipelines --
from architect_studio.logconfig import build as _build_logging  # noqa: E402

LOGGING = _build_logging(level=env_str("LOG_LEVEL") or "INFO", fmt=env_str("LOG_FORMAT") or "plain")

# --- Studio sign-in (tenancy/signin.py): /login, not the admin's ----------------------
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/integrations"
LOGOUT_REDIRECT_URL = "/login"
#: Storage sync: the largest file one transfer moves, and its download + upload deadline.
SYNC_MAX_FILE_BYTES = env_int("SYNC_MAX_FILE_BYTES", 1024 * 1024 * 1024)
SYNC_FILE_TRANSFER_SECONDS = env_int("SYNC_FILE_TRANSFER_SECONDS", 900)
#: Calls per second per integration to /api/integrations/hooks/<id> (0: no limit).
INTEGRATION_HOOK_RATE_LIMIT = env_int("INTEGRATION_HOOK_RATE_LIMIT", 20)
#: monday.com app's signing secret: when set, monday webhooks to an integration must carry its
#: HS256 JWT (besides the URL secret); empty: the URL secret alone (webhooks made by a token).
MONDAY_APP_SIGNING_SECRET = env_str("MONDAY_APP_SIGNING_SECRET") or ""
#: Failed logins per email (and ten times that per address) within the window before /login
#: answers 429 without checking the password. Counted in Redis (REDIS_URL) across processes.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Architect Studio <no-reply@localhost>"
# Password-reset mail: SMTP from the environment; the console in DEBUG unless EMAIL_BACKEND says.
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
