"""/webhooks: the studio's incoming and outgoing webhooks, with their status and counters."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from webhooks.models import IncomingWebhook
from webhooks.outgoing import selectors as outgoing_selectors
from webhooks.pages.common import is_htmx, page_view


@page_view
def webhooks_page(request: HttpRequest) -> HttpResponse:
    context = {
        "tenant": request.tenant,
        "can_manage": request.membership.can_manage,
        "incoming": list(IncomingWebhook.objects.filter(tenant=request.tenant).order_by("-created_at")[:200]),
        "outgoing": list(outgoing_selectors.outgoing_webhook_list(tenant=request.tenant).order_by("-created_at")[:200]),
    }
    # The live refresh (hub:webhook-* events) asks for the lists alone.
    template = "webhooks/_lists.html" if is_htmx(request) else "webhooks/index.html"
    return render(request, template, context)
