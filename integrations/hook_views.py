"""The public endpoint of provider webhooks to an integration (integrations.sync.hooks):
``POST /api/integrations/hooks/<integration uuid>``. Unauthenticated by design (the provider's
signature, or a re-query of the provider, is the credential), outside the request transaction;
a JSON or form body of at most ``MAX_BODY_BYTES``. Cardcom's legacy indicator calls with GET
and query parameters, so GET is taken too (it carries no body)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.sync.hooks import hook_receive

MAX_BODY_BYTES = 256 * 1024


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": {400: "bad_request", 401: "invalid_signature", 404: "not_found",
                                            405: "method_not_allowed", 413: "too_large", 429: "throttled",
                                            502: "provider_unavailable"}.get(status, "error"),
                                   "message": message}}, status=status)


@csrf_exempt
@transaction.non_atomic_requests
def provider_hook(request: HttpRequest, integration: str) -> HttpResponse:
    if request.method not in ("POST", "GET"):
        response = _error(405, "Use POST.")
        response["Allow"] = "POST, GET"
        return response
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return _error(413, "The body is too large.")
    body = request.body or b""
    content_type = (request.content_type or "").lower()
    try:
        if not body:
            payload = None
        elif "json" in content_type or body[:1] in (b"{", b"["):
            payload = json.loads(body)
        else:
            payload = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return _error(400, "The body is neither JSON nor form-encoded.")
    query = {k: v for k, v in request.GET.items()}
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    result = hook_receive(integration_id=integration, method=request.method, url=url,
                          headers=dict(request.headers), body=body, query=query, payload=payload)
    if result.body is not None:  # a subscription check (Meta hub.challenge): the scheme's own answer
        response = HttpResponse(result.body, status=result.status, content_type=result.content_type)
        for name, value in result.headers.items():
            response[name] = value
        return response
    if result.status != 200:
        response = _error(result.status, result.message)
        if result.status == 429:
            response["Retry-After"] = "1"
        return response
    return JsonResponse({"received": True, "started": result.started, "applied": result.applied})
