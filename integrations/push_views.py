"""The public push endpoints (issue 11 item 8): providers tell the hub a calendar changed.

Plain Django views, unauthenticated by design (the channel's secret token is the credential,
checked in integrations.sync.push with hmac.compare_digest), outside the request transaction,
answering within milliseconds: the import itself runs on the sync queue.

- ``POST /api/integrations/push/google/<channel uuid>`` -- Google Calendar watch channels
  (https://developers.google.com/calendar/api/guides/push): headers only, no body.
- ``POST /api/integrations/push/graph/<subscription row uuid>`` -- Microsoft Graph:
  ``?validationToken=`` is echoed as text/plain (the subscription handshake); otherwise a
  change notification collection, answered 202
  (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks).
- ``GET|POST /api/integrations/push/app/<provider>`` -- one URL per provider app (Dropbox's
  webhook, set in its App Console): the ``?challenge=`` check, then signed notifications
  naming accounts (integrations.sync.app_push).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.signatures import InboundRequest
from integrations.sync.app_push import app_push_handshake, app_push_receive
from integrations.sync.push import push_receive_google, push_receive_graph

#: Notifications are small (Graph: a collection of at most a few KB per item; Google: no body).
MAX_BODY_BYTES = 1_000_000
MAX_VALIDATION_TOKEN = 2048


def _answer(status: int, message: str | None = None) -> HttpResponse:
    if status in (200, 202) and message is None:
        return HttpResponse(status=status)
    return JsonResponse({"error": message or "Not found."}, status=status)


def _post_only(request: HttpRequest) -> HttpResponse | None:
    if request.method != "POST":
        response = _answer(405, "Use POST.")
        response["Allow"] = "POST"
        return response
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return _answer(413, "The body is too large.")
    return None


@csrf_exempt
@transaction.non_atomic_requests
def google_push(request: HttpRequest, channel: str) -> HttpResponse:
    refused = _post_only(request)
    if refused is not None:
        return refused
    result = push_receive_google(
        row_id=channel, channel_id=request.headers.get("X-Goog-Channel-ID"),
        token=request.headers.get("X-Goog-Channel-Token"),
        resource_state=request.headers.get("X-Goog-Resource-State"),
        resource_id=request.headers.get("X-Goog-Resource-ID"),
    )
    messages = {404: "Unknown or expired channel.", 403: "Wrong channel token."}
    return _answer(result.status, messages.get(result.status))


@csrf_exempt
@transaction.non_atomic_requests
def graph_push(request: HttpRequest, subscription: str) -> HttpResponse:
    refused = _post_only(request)
    if refused is not None:
        return refused
    token = request.GET.get("validationToken")
    if token is not None:
        # The handshake Graph runs while it creates the subscription (before the hub stores it):
        # echo the token, decoded, as text/plain within 10 s. Nothing else is read or written.
        if not token or len(token) > MAX_VALIDATION_TOKEN:
            return _answer(400, "Invalid validationToken.")
        response = HttpResponse(token, content_type="text/plain; charset=utf-8", status=200)
        response["X-Content-Type-Options"] = "nosniff"
        return response
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return _answer(400, "The body is not JSON.")
    result = push_receive_graph(row_id=subscription, body=body)
    messages = {404: "Unknown or expired subscription.", 400: "Expected a change notification collection."}
    return _answer(result.status, messages.get(result.status))


@csrf_exempt
@transaction.non_atomic_requests
def app_push(request: HttpRequest, provider: str) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        response = _answer(405, "Use GET or POST.")
        response["Allow"] = "GET, POST"
        return response
    if request.method == "POST":
        refused = _post_only(request)
        if refused is not None:
            return refused
    inbound = InboundRequest(method=request.method, url=settings.PUBLIC_BASE_URL + request.get_full_path(),
                             headers=dict(request.headers), body=request.body if request.method == "POST" else b"",
                             query={k: v for k, v in request.GET.items()})
    if request.method == "GET":
        result = app_push_handshake(provider_id=provider, request=inbound)
        if result.status != 200:
            return _answer(result.status, "Unknown provider." if result.status == 404 else "Expected ?challenge=.")
        response = HttpResponse(result.body, content_type=result.content_type, status=200)
        for name, value in (result.headers or {}).items():
            response[name] = value
        return response
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        return _answer(400, "The body is not JSON.")
    result = app_push_receive(provider_id=provider, request=inbound, body=body)
    messages = {404: "Unknown provider.", 401: "Bad signature.", 400: "Expected a change notification.",
                503: "Not queued; try again."}
    return _answer(result.status, messages.get(result.status))
