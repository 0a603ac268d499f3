"""One integration's settings page (/integrations/<id>)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from integrations import selectors
from integrations.models import Integration
from integrations.pages.common import membership_for, message_for
from integrations.providers.catalog import PROVIDERS


def integration_settings_page(request: HttpRequest, integration_id: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership = membership_for(request)
    if membership is None:
        raise Http404
    integration = Integration.objects.filter(tenant_id=membership.tenant_id, pk=integration_id).first()
    if integration is None:
        raise Http404
    kind, message = message_for(request)
    provider = PROVIDERS.get(integration.provider)
    return render(request, "integrations/settings.html", {
        "tenant": membership.tenant,
        "integration": integration,
        "provider": provider,
        "status": selectors.integration_status(integration=integration),
        "logs": list(selectors.integration_logs(integration=integration)[:20]),
        "sync": integration.sync_settings or {},
        "can_manage": membership.can_manage,
        "message_kind": kind, "message": message,
    })
