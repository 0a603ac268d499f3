"""The integrations page (/integrations): the catalog by category, each provider's card."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from integrations import selectors
from integrations.models import Integration
from integrations.pages.common import membership_for, message_for


def integrations_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership = membership_for(request)
    if membership is None:
        raise Http404
    kind, message = message_for(request)
    categories = selectors.catalog_for_tenant(tenant_id=membership.tenant_id)
    status_labels = dict(Integration.Status.choices)
    for category in categories:
        for provider in category["providers"]:
            provider["statusLabel"] = status_labels.get(provider.get("status"), provider.get("status"))
    connected = sum(1 for c in categories for p in c["providers"] if p.get("integrationId"))
    return render(request, "integrations/index.html", {
        "tenant": membership.tenant,
        "categories": categories,
        "connected_count": connected,
        "can_manage": membership.can_manage,
        "message_kind": kind, "message": message,
    })
