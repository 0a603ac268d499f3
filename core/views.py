from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)


def _database_ok() -> tuple[bool, str]:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        return False, type(exc).__name__


def _broker_state() -> str:
    if not settings.REDIS_URL:
        return "embedded"
    from core.redis_client import redis_client

    try:
        redis_client(settings.REDIS_URL).ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


def _mode() -> str:
    """What the hub runs on, without hosts: "PostgreSQL + Redis", "SQLite + eager tasks (embedded)"."""
    mode = settings.MODE
    db = "SQLite" if mode.embedded_db else "PostgreSQL"
    broker = "eager tasks" if mode.embedded_broker else "Redis"
    return f"{db} + {broker}" + (" (embedded)" if mode.embedded_db or mode.embedded_broker else "")


@transaction.non_atomic_requests
@never_cache
@require_safe  # GET, and HEAD for load balancers that probe with it
def healthz(request):
    """Liveness: 200 while the database answers, 503 when it does not.

    The broker's state is a field, not a verdict: while Redis is away the hub
    still accepts and stores work (the sweepers send it on once Redis is
    back), so restarting web processes over it would only make things worse.
    No host names or URLs: the endpoint is public.
    """
    db_ok, db_state = _database_ok()
    body = {
        "status": "ok" if db_ok else "unavailable",
        "database": db_state,
        "broker": _broker_state(),
        "mode": _mode(),
    }
    return JsonResponse(body, status=200 if db_ok else 503)
