"""/webhooks/incoming/<id> (and /new): settings, the generated URL and secret, test panel, log.

The secret is shown twice in a webhook's life, as the API shows it: in the answer that
creates the webhook and in the answer of a rotation - never stored in the session, never
on a later GET (``Cache-Control: no-store`` on both answers).
"""

from __future__ import annotations

import json

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from core.parsers import json_loads
from entities.models import ENTITY_TYPES
from webhooks.incoming import services
from webhooks.incoming.actions import ACTION_TYPES
from webhooks.incoming.said import text_of
from webhooks.incoming.serializers import (
    IncomingWebhookInputSerializer,
    IncomingWebhookOutputSerializer,
    _writable_fields,
)
from webhooks.models import IncomingWebhook
from webhooks.pages import forms, labels
from webhooks.pages.common import error_lines, no_store, page_view
from webhooks.pages.logs import log_rows_context
from webhooks.pages.outcomes import outcome_context
from webhooks.verification import SCHEMES


def _webhook(request: HttpRequest, webhook_id: str) -> IncomingWebhook:
    webhook = IncomingWebhook.objects.filter(tenant=request.tenant, pk=webhook_id).first()
    if webhook is None:
        raise Http404
    return webhook


def _render(request: HttpRequest, *, webhook: IncomingWebhook | None, draft: dict, errors: list[str] = (),
            secret: str | None = None, status: int = 200, message: str | None = None) -> HttpResponse:
    context = {
        "tenant": request.tenant,
        "webhook": webhook,
        "draft": draft,
        "errors": list(errors),
        "secret": secret,
        "can_manage": request.membership.can_manage,
        "action_types": [(t, str(labels.ACTION_LABELS[t])) for t in ACTION_TYPES],
        "entity_types": [(t, str(labels.ENTITY_LABELS.get(t, t))) for t in ENTITY_TYPES],
        "writable_fields": {t: sorted(_writable_fields(t)) for t in ENTITY_TYPES},
        "schemes": [(s, str(labels.SCHEME_NAMES.get(s, s)), str(labels.SCHEME_INSTRUCTIONS.get(s, ""))) for s in SCHEMES],
        "verification_fields": [(k, str(labels.VERIFICATION_FIELD_LABELS[k]), draft["verification_config"].get(k, ""))
                                for k in forms.VERIFICATION_KEYS],
        "sample_payload": json.dumps({**services.SAMPLE_PAYLOAD, "webhookId": str(webhook.id) if webhook else ""},
                                     ensure_ascii=False, indent=2),
        "message": message, "message_kind": "success" if message else None,
        "replace_url": f"/webhooks/incoming/{webhook.id}" if webhook and secret else None,
    }
    if webhook is not None:
        context["logs"] = log_rows_context(request, webhook.id, "incoming")
    response = render(request, "webhooks/incoming.html", context, status=status)
    return no_store(response) if secret else response


@page_view
def incoming_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, webhook=None)
    return _render(request, webhook=None, draft=forms.incoming_draft({"actions": [], "is_enabled": True}))


@page_view
def incoming_detail(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        return _save(request, webhook=webhook)
    saved = _("Saved.") if request.GET.get("saved") else None
    return _render(request, webhook=webhook, draft=forms.incoming_draft(IncomingWebhookOutputSerializer(webhook).data),
                   message=saved)


def _save(request: HttpRequest, *, webhook: IncomingWebhook | None) -> HttpResponse:
    data = forms.incoming_data(request.POST)
    serializer = IncomingWebhookInputSerializer(webhook, data=data, partial=webhook is not None)
    if not serializer.is_valid():
        return _render(request, webhook=webhook, draft=forms.incoming_draft(data), errors=error_lines(serializer.errors),
                       status=400)
    if webhook is None:
        created, secret = services.incoming_create(tenant=request.tenant, data=dict(serializer.validated_data))
        return _render(request, webhook=created, secret=secret, status=201,
                       draft=forms.incoming_draft(IncomingWebhookOutputSerializer(created).data),
                       message=_("The webhook was created. Copy the secret now: it is shown only this once."))
    services.incoming_update(webhook=webhook, data=dict(serializer.validated_data))
    return redirect(f"/webhooks/incoming/{webhook.id}?saved=1")


@page_view
def incoming_rotate(request: HttpRequest, webhook_id: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    webhook, secret = services.incoming_rotate_secret(webhook=_webhook(request, webhook_id))
    return no_store(render(request, "webhooks/_secret.html", {"webhook": webhook, "secret": secret, "rotated": True,
                                                              "can_manage": True}))


@page_view
def incoming_delete(request: HttpRequest, webhook_id: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    services.incoming_delete(webhook=_webhook(request, webhook_id))
    return redirect("/webhooks")


@page_view
def incoming_logs(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    return render(request, "webhooks/_log_rows.html", {**log_rows_context(request, webhook.id, "incoming"), "webhook": webhook})


@transaction.non_atomic_requests
def incoming_test(request: HttpRequest, webhook_id: str) -> HttpResponse:
    """Sign a sample (or the payload typed in the panel) as the sender would and run it through
    the real pipeline (services.incoming_test, as POST /api/webhooks/:id/test); each action's
    outcome is shown. Not in the request's transaction: a forward action waits on its receiver."""
    with transaction.atomic():
        return _incoming_test(request, webhook_id)


@page_view
def _incoming_test(request: HttpRequest, webhook_id: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    webhook = _webhook(request, webhook_id)
    payload = None
    text = request.POST.get("payload", "").strip()
    if text:
        try:
            payload = json_loads(text)
        except ValueError as exc:
            return _test_error(request, _("The sample is not valid JSON: %(error)s") % {"error": exc})
        if not isinstance(payload, dict):
            return _test_error(request, _("The sample must be a JSON object."))
    try:
        outcome = services.incoming_test(webhook, payload=payload)
    except (ValueError, ValidationError) as exc:
        return _test_error(request, str(exc))
    response = render(request, "webhooks/_incoming_test_result.html", {
        "outcome": outcome, **outcome_context(outcome),
        "verification_reason": text_of(outcome.get("verification"), "reason"),
        "status_label": labels.STATUS_LABELS.get(outcome.get("status"), outcome.get("status")),
    })
    response["HX-Trigger"] = "webhook-logs-changed"
    return response


def _test_error(request: HttpRequest, text: str) -> HttpResponse:
    return render(request, "webhooks/_message.html", {"kind": "error", "text": text}, status=400)

