"""/webhooks/outgoing/<id> (and /new): target, triggers, payload template with its placeholder
helper and live preview, security, retries, test send, deliveries log."""

from __future__ import annotations

import json

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from core.words import say
from entities.models import ENTITY_EVENTS, ENTITY_TYPES
from webhooks.models import OutgoingWebhook
from webhooks.outgoing import services
from webhooks.outgoing.serializers import (
    OutgoingWebhookInputSerializer,
    OutgoingWebhookSerializer,
    PreviewInputSerializer,
)
from webhooks.pages import forms, labels
from webhooks.pages.common import error_lines, member_post, page_view
from webhooks.pages.logs import log_rows_context


def _webhook(request: HttpRequest, webhook_id: str) -> OutgoingWebhook:
    webhook = OutgoingWebhook.objects.filter(tenant=request.tenant, pk=webhook_id).first()
    if webhook is None:
        raise Http404
    return webhook


def _render(request: HttpRequest, *, webhook: OutgoingWebhook | None, draft: dict, errors: list[str] = (),
            status: int = 200, message: str | None = None) -> HttpResponse:
    chosen = [t for t in ENTITY_TYPES if draft["triggers"].get(t)]
    context = {
        "tenant": request.tenant,
        "webhook": webhook,
        "draft": draft,
        "errors": list(errors),
        "can_manage": request.membership.can_manage,
        "entity_types": [(t, str(labels.ENTITY_LABELS.get(t, t))) for t in ENTITY_TYPES],
        "events": [(e, str(labels.EVENT_LABELS[e])) for e in ENTITY_EVENTS],
        "methods": labels.METHOD_CHOICES,
        "signature_schemes": labels.choices(labels.SIGNATURE_SCHEME_LABELS),
        "retry_strategies": labels.choices(labels.RETRY_LABELS),
        "placeholders": services.template_placeholders(tenant=request.tenant, entity_types=chosen),
        "preview_entity_type": chosen[0] if chosen else ENTITY_TYPES[0],
        "message": message, "message_kind": "success" if message else None,
    }
    if webhook is not None:
        context["logs"] = log_rows_context(request, webhook.id, "outgoing")
    return render(request, "webhooks/outgoing.html", context, status=status)


@page_view
def outgoing_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request, webhook=None)
    return _render(request, webhook=None, draft=forms.outgoing_draft({"is_enabled": True}))


@page_view
def outgoing_detail(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        return _save(request, webhook=webhook)
    saved = _("Saved.") if request.GET.get("saved") else None
    return _render(request, webhook=webhook, draft=forms.outgoing_draft(OutgoingWebhookSerializer(webhook).data),
                   message=saved)


def _save(request: HttpRequest, *, webhook: OutgoingWebhook | None) -> HttpResponse:
    data = forms.outgoing_data(request.POST, creating=webhook is None)
    draft = forms.outgoing_draft({**data, "has_signature_secret": bool(webhook and webhook.has_secret("signature_secret"))})
    serializer = OutgoingWebhookInputSerializer(webhook, data=data, partial=webhook is not None)
    if not serializer.is_valid():
        return _render(request, webhook=webhook, draft=draft, errors=error_lines(serializer.errors), status=400)
    try:
        with transaction.atomic():
            if webhook is None:
                webhook = services.outgoing_webhook_create(tenant=request.tenant, data=serializer.validated_data)
            else:
                webhook = services.outgoing_webhook_update(webhook=webhook, data=serializer.validated_data)
    except services.WebhookConfigError as exc:
        if webhook is not None and webhook.pk:
            webhook.refresh_from_db()
        return _render(request, webhook=webhook if webhook and not webhook._state.adding else None, draft=draft,
                       errors=error_lines(exc.fields), status=400)
    return redirect(f"/webhooks/outgoing/{webhook.id}?saved=1")


@page_view
def outgoing_delete(request: HttpRequest, webhook_id: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    services.outgoing_webhook_delete(webhook=_webhook(request, webhook_id))
    return redirect("/webhooks")


@page_view
def outgoing_logs(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    return render(request, "webhooks/_log_rows.html", {**log_rows_context(request, webhook.id, "outgoing"), "webhook": webhook})


@page_view
def outgoing_status(request: HttpRequest, webhook_id: str) -> HttpResponse:
    """The status line (enabled, disabled with its reason, counters): refreshed live."""
    return render(request, "webhooks/_outgoing_status.html", {"webhook": _webhook(request, webhook_id)})


@page_view
def outgoing_placeholders(request: HttpRequest) -> HttpResponse:
    """The helper's list for the triggers ticked in the form (?trigger-<type>=<event>…)."""
    chosen = [t["entityType"] for t in forms.outgoing_triggers(request.GET)]
    return render(request, "webhooks/_placeholders.html", {
        "placeholders": services.template_placeholders(tenant=request.tenant, entity_types=chosen),
    })


@member_post
@page_view
def outgoing_preview(request: HttpRequest) -> HttpResponse:
    """The template as it would be sent for a sample entity (services.webhook_preview, as
    POST /api/webhooks/outgoing/preview); changes nothing, so members may use it."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    given = {"payload_template": request.POST.get("payload_template", ""),
             "entity_type": request.POST.get("preview_entity_type"), "event": request.POST.get("preview_event")}
    serializer = PreviewInputSerializer(data={k: v for k, v in given.items() if v is not None and (v or k == "payload_template")})
    if not serializer.is_valid():
        return _preview(request, errors=error_lines(serializer.errors))
    data = serializer.validated_data
    try:
        out = services.webhook_preview(
            webhook=None, tenant=request.tenant, template=data.get("payload_template"), use_webhook_template=False,
            entity_type=data.get("entity_type"), event=data.get("event"), entity=None, entity_id=None,
        )
    except services.WebhookConfigError as exc:
        return _preview(request, errors=error_lines(exc.fields))
    return _preview(request, body=json.dumps(out["body"], ensure_ascii=False, indent=2), out=out)


def _preview(request: HttpRequest, *, errors: list[str] = (), body: str = "", out: dict | None = None) -> HttpResponse:
    return render(request, "webhooks/_preview.html", {"errors": list(errors), "body": body, "out": out},
                  status=400 if errors else 200)


@transaction.non_atomic_requests
def outgoing_test(request: HttpRequest, webhook_id: str) -> HttpResponse:
    """Send a sample now (services.webhook_test_send, as POST /api/webhooks/:id/test) and show
    the receiver's answer. No transaction is held while the receiver answers."""
    with transaction.atomic():
        found = _test_target(request, webhook_id)
    if isinstance(found, HttpResponse):
        return found
    webhook, entity_type, event = found
    try:
        row, result = services.webhook_test_send(webhook=webhook, entity_type=entity_type, event=event)
    except (ValueError, ValidationError) as exc:
        return render(request, "webhooks/_message.html", {"kind": "error", "text": str(exc)}, status=400)
    body = result.body_json if result.body_json is not None else result.body_text
    response = render(request, "webhooks/_outgoing_test_result.html", {
        "result": result, "row": row, "error_text": say(result.error_words) or result.error,
        "body": json.dumps(body, ensure_ascii=False, indent=2) if not isinstance(body, str) else body,
    })
    response["HX-Trigger"] = "webhook-logs-changed"
    return response


@page_view
def _test_target(request: HttpRequest, webhook_id: str):
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    webhook = _webhook(request, webhook_id)
    entity_type = request.POST.get("test_entity_type") or None
    event = request.POST.get("test_event") or None
    if entity_type not in (None, *ENTITY_TYPES) or event not in (None, *ENTITY_EVENTS):
        return render(request, "webhooks/_message.html", {"kind": "error", "text": _("Unknown entity type or event.")},
                      status=400)
    return webhook, entity_type, event
