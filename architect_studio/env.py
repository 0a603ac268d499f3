"""The one place that reads the environment.

Every setting that comes from the environment is read here, with a strict
parser, so that a typo in a boolean or a URL fails at start-up rather than
at 3 a.m. It also decides the *mode*: with PostgreSQL and Redis reachable
(explicitly through DATABASE_URL / REDIS_URL, or on localhost as on our dev
and CI machines) the hub uses them; with neither, it falls back to the
embedded mode (SQLite, eager tasks, in-process channel layer) and says so.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("architect_studio.env")

BASE_DIR = Path(__file__).resolve().parent.parent

# Defaults used when nothing is set and PostgreSQL runs on localhost with trust
# auth (make run / make test provision these roles and the database).
DEFAULT_DB_NAME = "architect_studio"
DEFAULT_OWNER_ROLE = "architect_owner"
DEFAULT_RUNTIME_ROLE = "architect_app"
#: Cross-tenant operator work (admin, sweepers, beat fan-outs): BYPASSRLS, owns nothing.
DEFAULT_OPERATOR_ROLE = "architect_operator"
DEFAULT_PG_HOSTPORT = ("127.0.0.1", 5432)
DEFAULT_REDIS_HOSTPORT = ("127.0.0.1", 6379)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: The probe of ``detect_mode(require_services=True)`` (the test settings): a loaded
#: machine may answer a connect late, and there the answer decides, not the fallback.
STRICT_PROBE_TIMEOUT = 5.0

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    pass


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _reachable(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def default_database_url(role: str) -> str:
    host, port = DEFAULT_PG_HOSTPORT
    return f"postgres://{role}@{host}:{port}/{DEFAULT_DB_NAME}"


@dataclass(frozen=True)
class Mode:
    database_url: str | None  # None → embedded SQLite
    database_admin_url: str | None
    database_operator_url: str | None
    redis_url: str | None  # None → embedded broker / channel layer
    provisioned_defaults: bool  # True when we use the local defaults

    @property
    def embedded_db(self) -> bool:
        return self.database_url is None

    @property
    def embedded_broker(self) -> bool:
        return self.redis_url is None

    def describe(self) -> str:
        db = "SQLite (embedded)" if self.embedded_db else f"PostgreSQL at {_safe_url(self.database_url)}"
        broker = "eager in-process tasks (embedded)" if self.embedded_broker else f"Redis at {_safe_url(self.redis_url)}"
        return f"database: {db}; broker: {broker}"


def _safe_url(url: str | None) -> str:
    """Host/port/path of a URL without credentials, for logs."""
    if not url:
        return "-"
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


@lru_cache(maxsize=2)
def detect_mode(require_services: bool = False) -> Mode:
    """The mode from the environment. ``require_services`` (the test settings): no
    embedded fallback -- PostgreSQL and Redis must answer (a patient probe), or a
    ConfigError names what is missing; only ARCHITECT_EMBEDDED=1 picks the embedded mode."""
    if env_bool("ARCHITECT_EMBEDDED", False):
        return Mode(None, None, None, None, False)
    timeout = STRICT_PROBE_TIMEOUT if require_services else 0.3
    database_url = env_str("DATABASE_URL")
    admin_url = env_str("DATABASE_ADMIN_URL")
    provisioned = False
    if database_url is None:
        if _reachable(*DEFAULT_PG_HOSTPORT, timeout=timeout):
            database_url = default_database_url(DEFAULT_RUNTIME_ROLE)
            admin_url = admin_url or default_database_url(DEFAULT_OWNER_ROLE)
            provisioned = True
    operator_url = env_str("DATABASE_OPERATOR_URL")
    if operator_url is None and database_url is not None:
        operator_url = with_role(database_url, DEFAULT_OPERATOR_ROLE)
    redis_url = env_str("REDIS_URL")
    if redis_url is None and _reachable(*DEFAULT_REDIS_HOSTPORT, timeout=timeout):
        redis_url = DEFAULT_REDIS_URL
    if require_services:
        missing = []
        if database_url is None:
            missing.append("PostgreSQL (DATABASE_URL unset, nothing on {}:{})".format(*DEFAULT_PG_HOSTPORT))
        if redis_url is None:
            missing.append("Redis (REDIS_URL unset, nothing on {}:{})".format(*DEFAULT_REDIS_HOSTPORT))
        if missing:
            raise ConfigError(
                "the test settings need " + " and ".join(missing)
                + "; start them, or set ARCHITECT_EMBEDDED=1 to run in the embedded mode"
            )
    return Mode(database_url, admin_url, operator_url, redis_url, provisioned)


def services_required() -> bool:
    """True under the test settings (DJANGO_SETTINGS_MODULE ends in ``.test``): the
    embedded fallback is never taken by accident there."""
    return (os.environ.get("DJANGO_SETTINGS_MODULE") or "").endswith("settings.test")


def with_role(url: str, role: str) -> str:
    """``url`` logging in as ``role`` (no password: trust / peer / .pgpass / PGPASSWORD).
    The default operator URL when DATABASE_OPERATOR_URL is not set."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{role}@{host}{port}").geturl()


#: Management commands that get the owner alias (DATABASE_ADMIN_URL). No other
#: process holds the owner's credentials: web, worker and beat run without them.
OWNER_COMMANDS = frozenset({
    "migrate", "makemigrations", "showmigrations", "sqlmigrate", "sqlflush", "createcachetable", "test",
})


def wants_owner_alias(argv: list[str]) -> bool:
    """True for ``manage.py <owner command>`` (and ``django-admin``)."""
    if len(argv) < 2:
        return False
    program = Path(argv[0]).name
    return program in ("manage.py", "django-admin", "__main__.py") and argv[1] in OWNER_COMMANDS


def setting_int(name: str, default: int) -> int:
    """A tunable read at call time: the Django setting of that name if set (tests,
    operators), else the environment variable of that name, else ``default``."""
    from django.conf import settings

    value = getattr(settings, name, None)
    return int(value) if value is not None else env_int(name, default)
