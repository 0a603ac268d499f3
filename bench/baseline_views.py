"""The two baselines of bench/incoming.py, served by the same server as the real endpoint.

* ``bare``: a Django view that answers 202 without touching the database.
* ``minimal``: checks a hex HMAC-SHA256 of the body and inserts one row (the
  tenant context is set first, as RLS requires) - the least a verified,
  persisted webhook receiver must do.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.tenant_context import set_db_tenant
from webhooks.models import WebhookLog


@csrf_exempt
def bare(request):
    return JsonResponse({"received": True}, status=202)


@csrf_exempt
def minimal(request, tenant_id: str):
    body = request.body
    expected = hmac.new(settings.BENCH_BASELINE_SECRET.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Webhook-Signature", "")):
        return JsonResponse({"error": "bad signature"}, status=401)
    set_db_tenant(tenant_id)
    row = WebhookLog.objects.create(
        tenant_id=tenant_id, webhook_id=uuid.UUID(int=0), webhook_type="baseline", direction="incoming",
        method="POST", url=request.path, body=None, status="success",
    )
    return JsonResponse({"received": True, "logId": str(row.id)}, status=202)
