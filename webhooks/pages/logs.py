"""Log rows of one webhook (filters as the API's), one log's detail, and replay (both kinds)."""

from __future__ import annotations

import copy
import json
from urllib.parse import parse_qs, urlsplit

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from core.pagination import LogPagination
from core.parsers import json_loads
from webhooks.incoming import services as incoming_services
from webhooks.models import WebhookLog
from webhooks.outgoing import selectors, services
from webhooks.outgoing.serializers import WebhookLogFilterSerializer
from webhooks.pages import labels
from webhooks.pages.common import error_lines, page_view
from webhooks.pages.outcomes import outcome_context, result_data

PAGE_ROWS = 50


def log_rows_context(request: HttpRequest, webhook_id, kind: str) -> dict:
    """One page of a webhook's log, newest first, filtered by ?status=&event=&since=&until= (the
    API's filter serializer: a bad value is shown, not raised); ``?cursor=`` is the API's keyset
    cursor (``core.pagination.LogPagination`` over ``selectors.LOG_ORDER``, as GET
    /api/webhooks/:id/logs pages): ``older`` is the cursor of the page after this one."""
    given = request.GET.copy()
    for key in [k for k, v in given.items() if not v.strip()]:  # the form's empty fields mean "any"
        del given[key]
    given.pop("cursor", None)
    given.pop(LogPagination.page_size_query_param, None)
    base = {"rows": [], "filters": request.GET, "logs_url": f"/webhooks/{kind}/{webhook_id}/logs",
            "older": None, "paged": False}
    try:
        filters = dict(WebhookLogFilterSerializer.parse(given))
    except ValidationError as exc:
        return {**base, "errors": error_lines(exc.detail)}
    filters.pop("webhook_id", None)
    paginator = LogPagination(selectors.LOG_ORDER)
    paginator.page_size = PAGE_ROWS
    query = request.GET.copy()
    query.pop(LogPagination.page_query_param, None)
    query.pop(LogPagination.page_size_query_param, None)
    logs = selectors.webhook_logs(tenant=request.tenant, webhook_id=webhook_id, **filters)
    errors = []
    try:
        rows = paginator.paginate(logs, Request(_with_query(request, query)))
    except ValidationError:  # a cursor this page did not give: the newest rows, and why
        errors = [_("That page of the log no longer exists. Showing the newest rows.")]
        query.pop("cursor", None)
        rows = paginator.paginate(logs, Request(_with_query(request, query)))
    older = parse_qs(urlsplit(paginator.next).query).get("cursor", [None])[0] if paginator.next else None
    cursor = query.get("cursor") or ""
    return {**base, "rows": rows, "errors": errors, "can_manage": request.membership.can_manage, "older": older,
            "paged": bool(cursor), "cursor": cursor, "new_entries": bool(cursor) and is_live_refresh(request)}


def is_live_refresh(request: HttpRequest) -> bool:
    """The rows asked again by the list itself (a live event, or the log changed after a replay):
    htmx names the element that sent the request, here the list (#log-rows), not a pager button or
    the filters. On an older page such a refresh keeps the page (the list sends its cursor) and
    says that newer entries arrived."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Trigger") == "log-rows"


def _with_query(request: HttpRequest, query) -> HttpRequest:
    """``request`` with only the log's own parameters (no ?page= / ?pageSize= from outside)."""
    shallow = copy.copy(request)
    shallow.GET = query
    return shallow


def _log(request: HttpRequest, log_id: str) -> WebhookLog:
    row = selectors.webhook_log_get(tenant=request.tenant, log_id=log_id)
    if row is None:
        raise Http404
    return row


def _pretty(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = json_loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False, indent=2)


@page_view
def log_detail(request: HttpRequest, log_id: str) -> HttpResponse:
    row = _log(request, log_id)
    received = row.direction == WebhookLog.Direction.INCOMING
    return render(request, "webhooks/_log_detail.html", {
        "log": row,
        "request_headers": _pretty(row.headers),
        "request_body": row.body_text or _pretty(row.body),
        "response_headers": _pretty(row.response_headers),
        "response_body": _pretty(row.response_body),
        # a received request's outcome said in the reader's language, its other data as it is
        "result": _pretty(result_data(row.result) if received else row.result_shown),
        "outcome": outcome_context(row.result) if received and isinstance(row.result, dict) and "actions" in row.result
        else None,  # a pending request has none yet
        "can_manage": request.membership.can_manage,
    })


@page_view
def log_replay(request: HttpRequest, log_id: str) -> HttpResponse:
    """Outgoing: a new manual attempt of the same delivery; incoming: run the actions again."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    row = _log(request, log_id)
    try:
        if row.direction == WebhookLog.Direction.INCOMING:
            outcome = incoming_services.incoming_reprocess(row)
            text = _("Processed again: %(status)s.") % {
                "status": labels.STATUS_LABELS.get(outcome.get("status"), outcome.get("status"))}
        else:
            services.log_replay(log=row)
            text = _("Sent again as a new attempt; it appears in the log.")
    except (ValueError, services.ReplayRefused) as exc:
        return render(request, "webhooks/_message.html", {"kind": "error", "text": str(exc)}, status=409)
    response = render(request, "webhooks/_message.html", {"kind": "success", "text": text})
    response["HX-Trigger"] = "webhook-logs-changed"
    return response
