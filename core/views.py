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


def _broker_ok() -> tuple[bool, str]:
    if not settings.REDIS_URL:
        return True, "embedded"
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


@transaction.non_atomic_requests
@never_cache
@require_safe  # GET, and HEAD for load balancers that probe with it
def healthz(request):
    db_ok, db_state = _database_ok()
    broker_ok, broker_state = _broker_ok()
    ok = db_ok and broker_ok
    body = {
        "status": "ok" if ok else "unavailable",
        "database": db_state,
        "broker": broker_state,
        "mode": settings.MODE.describe(),
    }
    return JsonResponse(body, status=200 if ok else 503)
