"""One integration's settings page (/integrations/<id>): the seed's five sections
(connection, sync, mappings, history, errors) and its actions (test connection, sync now,
disconnect).

The page renders everything server-side; each section's form posts (htmx) to
``/integrations/<id>/<part>``, which answers that section's partial. Every change goes
through the API's own input rules and services (``settings_forms`` builds the API's body
and checks it with the API's serializer; ``integrations.services`` /
``integrations.sync.services`` do the work), so the page holds no second copy of a rule.
Roles as the API (C11): a member sees the page read-only and a member's POST is 403,
except the mapping preview, which changes nothing (the API lets members call it too).
Bad input answers the section again with its errors and a 4xx, never a 500.

Past 400 lines because the sections' contexts and their views share one lookup, one set of
labels and one role check; the provider's own settings (forms, lists, resources, templates)
are in ``provider_settings``, only their views are here.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.exceptions import ValidationError

from core.words import english, is_words, say
from integrations import selectors, services
from integrations.models import Integration, IntegrationLog
from integrations.pages import provider_settings as provider_forms
from integrations.pages import settings_forms as forms
from integrations.pages.common import (
    MATURITY_LABELS,
    maturity_note,
    membership_for,
    message_for,
)
from integrations.providers.catalog import PROVIDERS, get_provider
from integrations.providers.registry import adapter_for
from integrations.serializers import FREQUENCIES, IntegrationLogFilterSerializer
from integrations.sync import services as sync
from integrations.sync.mapping import TRANSFORMS
from integrations.sync.preview import PreviewError, mapping_preview
from integrations.sync.runs import failed_item_text, last_error_text, run_error_text
from tenancy.selectors import TenantChoiceError, membership_choose

HISTORY_PAGE_SIZE = 10
RUN_STATUSES = ("running", "success", "partial", "failed")
SAMPLES: dict[str, dict[str, Any]] = {
    # A meeting as the entities API returns it, and a Google Calendar Event resource
    # (https://developers.google.com/calendar/api/v3/reference/events#resource).
    "meeting:event": {
        "local": {"title": "ביקור באתר", "description": "מדידות למטבח", "location": "תל אביב",
                  "startTime": "2026-12-10T10:00:00+02:00", "endTime": "2026-12-10T11:00:00+02:00",
                  "attendees": ["client@example.com"]},
        "remote": {"summary": "ביקור באתר", "description": "מדידות למטבח", "location": "תל אביב",
                   "start": {"dateTime": "2026-12-10T10:00:00+02:00"}, "end": {"dateTime": "2026-12-10T11:00:00+02:00"},
                   "attendees": [{"email": "client@example.com", "responseStatus": "accepted"}]},
    },
}


def _labels() -> dict[str, dict[str, str]]:
    return {
        "direction": {"import": _("Import"), "export": _("Export"), "bidirectional": _("Both ways")},
        "frequency": {"realtime": _("Realtime"), "hourly": _("Hourly"), "daily": _("Daily"),
                      "manual": _("Manual only")},
        "transform": {"none": _("None"), "date_format": _("Date format"), "currency_convert": _("Currency conversion"),
                      "custom": _("Custom function"), "link": _("Link to a synced record")},
        "entity": {"meeting": _("Meeting"), "task": _("Task"), "document": _("Document"), "payment": _("Payment"),
                   "expense": _("Expense"), "client": _("Client"), "supplier": _("Supplier"), "message": _("Message")},
        "action": dict(IntegrationLog.Action.choices),
        "status": dict(IntegrationLog.Status.choices),
        "setting": {"syncMeetings": _("Sync meetings"), "syncTasks": _("Sync tasks with a due date"),
                    "syncDeliveries": _("Sync expected deliveries"),
                    "autoCreateEvents": _("A new meeting creates a calendar event"),
                    "autoCreateMeetings": _("A new calendar event creates a meeting"),
                    "syncClients": _("Sync clients"), "syncSuppliers": _("Sync suppliers"),
                    "syncPayments": _("Sync payments"), "syncExpenses": _("Sync expenses"),
                    "syncDocuments": _("Sync documents"), "syncContracts": _("Sync contracts"),
                    "syncProposals": _("Sync proposals"), "syncPhotos": _("Sync photos"),
                    "autoCreateClients": _("A new contact at the provider creates a client"),
                    "autoCreateTasks": _("A new item at the provider creates a task"),
                    "autoCreateDocuments": _("A new file at the provider creates a document"),
                    "sendMeetingReminders": _("Send meeting reminders"),
                    "sendPaymentReminders": _("Send payment reminders"),
                    "sendDeliveryUpdates": _("Send delivery updates"),
                    "logIncomingMessages": _("Keep incoming messages in the log"),
                    "logOutgoingMessages": _("Keep outgoing messages in the log")},
        "policy": dict(Integration.ConflictPolicy.choices),
        # The providers' object names most pairs use; others are shown as the provider names them.
        "remote": {"event": _("Calendar event"), "VEVENT": _("Calendar event"), "file": _("File"),
                   "driveItem": _("File"), "contact": _("Contact"), "Contact": _("Contact"),
                   "customer": _("Client"), "Customer": _("Client"), "Invoice": _("Invoice")},
    }


# --------------------------------------------------------------------------- lookups
def _lookup(request: HttpRequest, integration_id: str):
    # The page's own requests (htmx) name the tenant the page was opened in (X-Tenant-ID, set
    # on #settings-page), so a user of several studios stays in the one the page shows.
    membership = membership_for(request)
    wanted = request.headers.get("X-Tenant-ID")
    if wanted and not request.GET.get("tenant"):
        try:
            membership = membership_choose(user=request.user, wanted=wanted)
        except TenantChoiceError:
            membership = None
    if membership is None:
        raise Http404
    integration = (Integration.objects.select_related("connected_by")
                   .filter(tenant_id=membership.tenant_id, pk=integration_id).first())
    if integration is None:
        raise Http404
    return membership, integration


def _refused(request: HttpRequest) -> HttpResponse:
    return render(request, "integrations/settings/message.html",
                  {"kind": "error", "text": _("Only the studio's owners and admins can change integrations.")},
                  status=403)


def _message(request: HttpRequest, kind: str, text: str, status: int = 200, detail: str = "") -> HttpResponse:
    return render(request, "integrations/settings/message.html", {"kind": kind, "text": text, "detail": detail},
                  status=status)


# --------------------------------------------------------------------------- section contexts
def _sync_context(integration: Integration) -> dict[str, Any]:
    provider = get_provider(integration.provider)
    labels = _labels()
    stored = integration.sync_settings or {}
    by_pair = {(e.get("localEntity"), e.get("remoteEntity")): e for e in stored.get("entities") or []
               if isinstance(e, dict)}
    entities = []
    overall = stored.get("direction", "bidirectional")
    for i, pair in enumerate(provider.entity_pairs):
        saved = by_pair.get((pair.local, pair.remote))
        entities.append({
            "index": i, "local": pair.local, "remote": pair.remote,
            "label": labels["entity"].get(pair.local, pair.local),
            "remote_label": labels["remote"].get(pair.remote) or labels["entity"].get(pair.remote, pair.remote),
            "enabled": bool(saved and saved.get("enabled", True)),
            # A pair not set yet follows the integration's direction where the pair allows it.
            "direction": (saved or {}).get("direction") or (
                overall if overall in pair.directions else pair.directions[0]),
            "directions": [(d, labels["direction"][d]) for d in pair.directions],
        })
    current = services.settings_with_defaults(integration)
    flags = [{"key": k, "label": labels["setting"].get(k, k), "value": v}
             for k, v in current.items() if isinstance(v, bool)]
    calendars = [c for c in current.get("calendars") or [] if isinstance(c, dict)]
    return {
        "sync": {"enabled": bool(stored.get("enabled")), "direction": stored.get("direction", "bidirectional"),
                 "frequency": stored.get("frequency", "manual")},
        "directions": list(labels["direction"].items()),
        "frequencies": [(f, labels["frequency"][f]) for f in FREQUENCIES],
        "policies": list(labels["policy"].items()),
        "entities": entities,
        "flags": flags,
        "calendars": calendars,
        "time_zone": current.get("timeZone", "") if calendars or "calendars" in current else None,
    }


def _mapping_context(integration: Integration, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    provider = get_provider(integration.provider)
    adapter = adapter_for(provider)
    labels = _labels()
    stored = (integration.sync_settings or {}).get("fieldMappings") or []
    using_default = rows is None and not stored
    if rows is None:
        source = stored
        if not source:
            source = [m for pair in provider.entity_pairs for m in adapter.default_mappings(pair.local, pair.remote)]
        rows = [{"localEntity": m.get("localEntity", ""), "localField": m.get("localField", ""),
                 "remoteField": m.get("remoteField", ""), "transform": m.get("transform") or "none",
                 "transformConfig": json.dumps(m["transformConfig"], ensure_ascii=False) if "transformConfig" in m else "",
                 "defaultValue": (m["defaultValue"] if isinstance(m.get("defaultValue"), str)
                                  else json.dumps(m["defaultValue"], ensure_ascii=False)) if "defaultValue" in m else ""}
                for m in source]
    locals_ = sorted({p.local for p in provider.entity_pairs})
    pairs = [(f"{p.local}:{p.remote}", f"{labels['entity'].get(p.local, p.local)} ↔ {labels['remote'].get(p.remote) or labels['entity'].get(p.remote, p.remote)}")
             for p in provider.entity_pairs]
    sample = SAMPLES.get(pairs[0][0] if pairs else "", {})
    return {
        "rows": rows, "using_default": using_default,
        "local_entities": [(e, labels["entity"].get(e, e)) for e in locals_],
        "transforms": [(t, labels["transform"].get(t, t)) for t in TRANSFORMS],
        "pairs": pairs,
        "sample_local": json.dumps(sample.get("local", {}), ensure_ascii=False, indent=2),
        "sample_remote": json.dumps(sample.get("remote", {}), ensure_ascii=False, indent=2),
    }


def _history_context(integration: Integration, *, action: str = "", status: str = "", page: int = 1) -> dict[str, Any]:
    labels = _labels()
    rows = list(selectors.integration_logs(integration=integration, action=action or None, status=status or None)
                [(page - 1) * HISTORY_PAGE_SIZE: page * HISTORY_PAGE_SIZE + 1])
    return {
        "logs": [_log_row(e, labels) for e in rows[:HISTORY_PAGE_SIZE]],
        "page": page, "has_next": len(rows) > HISTORY_PAGE_SIZE, "has_previous": page > 1,
        "filter_action": action, "filter_status": status,
        "actions": list(labels["action"].items()), "statuses": [(s, labels["status"][s]) for s in RUN_STATUSES],
    }


def _log_row(entry: IntegrationLog, labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {"entry": entry, "action_label": labels["action"].get(entry.action, entry.action),
            "status_label": labels["status"].get(entry.status, entry.status),
            "summary": entry.summary or {}, "error_text": run_error_text(entry),
            # Each item's error in the page's language (the words it kept), else as it was stored.
            "failed_items": [{**item, "text": failed_item_text(item)} for item in entry.failed_items or []
                             if isinstance(item, dict)]}


def _errors_context(integration: Integration) -> dict[str, Any]:
    last_bad = (selectors.integration_logs(integration=integration)
                .filter(action__in=("sync", "import", "export"), status__in=("failed", "partial")).first())
    latest_run = (selectors.integration_logs(integration=integration)
                  .filter(action__in=("sync", "import", "export")).exclude(status="running").first())
    provider = get_provider(integration.provider)
    reconnect_url = f"/api/integrations/connect/{provider.id}" if provider.auth_kind == "oauth2" else "/integrations"
    return {
        "last_bad": _log_row(last_bad, _labels()) if last_bad else None,
        "last_error_text": _last_error_text(integration, latest_run),
        # Failed items shown are those of the last failed or partial run, unless a newer run succeeded.
        "bad_is_latest": bool(last_bad and latest_run and last_bad.pk == latest_run.pk),
        "needs_reconnect": integration.status in (Integration.Status.EXPIRED, Integration.Status.ERROR),
        "reconnect_url": reconnect_url,
    }


def _last_error_text(integration: Integration, latest_run: IntegrationLog | None) -> str | None:
    """The integration's last error in the page's language: its words while they still say
    the stored text (a writer that changed ``last_error`` alone leaves them stale), else the
    latest run's words when that run's error is it (rows from before the words), else the text."""
    kept, text = integration.last_error_words, integration.last_error
    if text and is_words(kept) and english(kept)[:2000] == text:
        return last_error_text(integration)
    if text and latest_run is not None and latest_run.error_message == text:
        return run_error_text(latest_run)
    return text


def _page_context(request: HttpRequest, membership, integration: Integration) -> dict[str, Any]:
    kind, message = message_for(request)
    status = selectors.integration_status(integration=integration)
    return {
        "tenant": membership.tenant,
        "integration": integration,
        "provider": PROVIDERS.get(integration.provider),
        "maturity_label": MATURITY_LABELS.get(get_provider(integration.provider).maturity),
        "maturity_note": maturity_note(get_provider(integration.provider)),
        "status": status,
        "can_manage": membership.can_manage,
        "sends_messages": bool(adapter_for(get_provider(integration.provider)).message_channel),
        "message_kind": kind, "message": message,
        # Templates for the live progress script (%(name)s filled in the browser).
        "js_texts": {"progress": _("Synced %(done)s of %(total)s"), "progress_open": _("Synced %(done)s so far"),
                     "summary": _("created %(created)s, updated %(updated)s, deleted %(deleted)s, "
                                  "skipped %(skipped)s, failed %(failed)s")},
        **_sync_context(integration),
        **provider_forms.provider_context(integration, _labels()["entity"]),
        **_mapping_context(integration),
        **_history_context(integration),
        **_errors_context(integration),
    }


# --------------------------------------------------------------------------- the page
@require_GET
def integration_settings_page(request: HttpRequest, integration_id: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership, integration = _lookup(request, integration_id)
    return render(request, "integrations/settings.html", _page_context(request, membership, integration))


@require_http_methods(["GET", "POST"])
def integration_settings_part(request: HttpRequest, integration_id: str, part: str) -> HttpResponse:
    """``/integrations/<id>/<part>``: one section's partial (GET) or one action (POST)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    handler = (READS if request.method == "GET" else WRITES).get(part)
    if handler is None:
        if part in READS or part in WRITES:  # the part exists, not with this method
            return HttpResponseNotAllowed(["GET"] if part in READS else ["POST"])
        raise Http404
    membership, integration = _lookup(request, integration_id)
    if request.method == "POST" and part not in MEMBER_POSTS and not membership.can_manage:
        return _refused(request)
    return handler(request, membership, integration)


# --------------------------------------------------------------------------- reads
def _history(request, membership, integration) -> HttpResponse:
    try:
        # The filter form sends empty values for "all".
        filters = IntegrationLogFilterSerializer.parse({k: v for k, v in request.GET.items() if v})
        page = int(request.GET.get("page") or 1)
        if not 1 <= page <= 10_000:
            raise ValueError
    except (ValidationError, ValueError):
        return _message(request, "error", _("That filter is not valid."), status=400)
    context = _history_context(integration, action=filters.get("action", ""), status=filters.get("status", ""),
                               page=page)
    return render(request, "integrations/settings/history.html", {"integration": integration, **context})


def _status(request, membership, integration) -> HttpResponse:
    """Connection and errors again (after a run ends, or a status change event)."""
    return render(request, "integrations/settings/live.html", {
        "integration": integration, "status": selectors.integration_status(integration=integration),
        "can_manage": membership.can_manage, "provider": PROVIDERS.get(integration.provider),
        **_errors_context(integration)})


def _run_text(request, membership, integration) -> HttpResponse:
    """A finished run's line for the live progress box (``?log=<id>``), in the page's language.
    The integration.sync_failed event keeps the seed's shape (its ``error`` is the English text
    every reader gets, C9), so the page asks here for the error as this reader reads it."""
    try:
        log_id = uuid.UUID(request.GET.get("log", ""))
    except ValueError:
        return _message(request, "error", _("That run is not valid."), status=400)
    entry = selectors.integration_logs(integration=integration).filter(pk=log_id).first()
    if entry is None:
        raise Http404
    return render(request, "integrations/settings/run_text.html",
                  {"entry": entry, "error_text": run_error_text(entry)})


def _mapping_row(request, membership, integration) -> HttpResponse:
    context = _mapping_context(integration, rows=[])
    row = {"localEntity": context["local_entities"][0][0] if context["local_entities"] else "", "localField": "",
           "remoteField": "", "transform": "none", "transformConfig": "", "defaultValue": ""}
    return render(request, "integrations/settings/mapping_row.html",
                  {**context, "row": row, "can_manage": membership.can_manage})


# --------------------------------------------------------------------------- writes
def _save_sync(request, membership, integration) -> HttpResponse:
    result = forms.sync_form(request.POST, integration)
    if result.ok:
        integration = services.integration_update(integration=integration, data=result.data)
    context = {"integration": integration, "can_manage": True, "errors": result.errors,
               "saved": result.ok, **_sync_context(integration)}
    if not result.ok:  # show what was typed: the stored values are unchanged
        context["sync"] = {"enabled": request.POST.get("enabled") == "on", "direction": request.POST.get("direction"),
                           "frequency": request.POST.get("frequency")}
    return render(request, "integrations/settings/sync.html", context, status=200 if result.ok else 400)


def _save_mappings(request, membership, integration) -> HttpResponse:
    result = forms.mappings_form(request.POST, integration)
    if result.ok:
        integration = services.integration_update(integration=integration, data=result.data)
        context = _mapping_context(integration)
    else:
        rows, _problems = forms.mapping_rows(request.POST)
        context = _mapping_context(integration, rows=rows)
    context.update({"integration": integration, "can_manage": True, "errors": result.errors, "saved": result.ok})
    return render(request, "integrations/settings/mappings.html", context, status=200 if result.ok else 400)


def _preview(request, membership, integration) -> HttpResponse:
    result = forms.preview_form(request.POST, integration, use_rows=membership.can_manage)
    context: dict[str, Any] = {"errors": result.errors, "errors_title": _("The preview could not run:")}
    if result.ok:
        data = result.data
        try:
            preview = mapping_preview(
                integration=integration, local_entity=data["local_entity"], remote_entity=data["remote_entity"],
                local=data.get("local"), remote=data.get("remote"), field_mappings=data.get("field_mappings"))
        except PreviewError as exc:
            context["errors"] = [(exc.field, str(exc))]
        else:
            context.update({
                "to_remote": json.dumps(preview.to_remote, ensure_ascii=False, indent=2, default=str)
                if preview.to_remote is not None else None,
                "to_local": json.dumps(preview.to_local, ensure_ascii=False, indent=2, default=str)
                if preview.to_local is not None else None,
                "notes": preview.notes, "source": preview.mappings_source})
    return render(request, "integrations/settings/preview.html", context, status=400 if context["errors"] else 200)


def _test(request, membership, integration) -> HttpResponse:
    result = services.integration_test(integration=integration)
    if result.ok:
        return _message(request, "success", _("Connection works"))
    return _message(request, "error", _("Connection failed"),
                    detail=connection_test_failure_text(result, get_provider(integration.provider)))


def connection_test_failure_text(result: services.TestResult, provider) -> str:
    """A failed connection test in the page's language (services.test_failure_words)."""
    return say(result.words) or say(services.test_failure_words(
        provider, status=result.http_status, kind=result.kind, message=result.message)) or result.message


def _sync_now(request, membership, integration) -> HttpResponse:
    full = request.POST.get("full") == "true"
    try:
        entry = sync.sync_request(integration=integration, full=full)
    except sync.RunBusy as exc:
        return render(request, "integrations/settings/run.html",
                      {"log_id": exc.log_id, "busy": True}, status=409)
    except sync.SyncNotConfigured as exc:
        return _message(request, "error", _("The sync cannot start:"), status=400, detail=str(exc))
    return render(request, "integrations/settings/run.html", {"log_id": entry.pk, "started": True}, status=202)


def _disconnect(request, membership, integration) -> HttpResponse:
    services.integration_disconnect(integration=integration)
    response = HttpResponse(status=200)
    response["HX-Redirect"] = "/integrations"
    return response


# --------------------------------------------------------------------------- the provider's settings
def _provider_section(request, integration, *, status: int = 200, **extra) -> HttpResponse:
    context = {"integration": integration, "can_manage": True, **provider_forms.provider_context(integration, _labels()["entity"]), **extra}
    return render(request, "integrations/settings/provider.html", context, status=status)


def _save_provider(request, membership, integration) -> HttpResponse:
    result = provider_forms.provider_form(request.POST, integration)
    if result.ok:
        integration = services.integration_update(integration=integration, data=result.data)
    return _provider_section(request, integration, status=200 if result.ok else 400, errors=result.errors,
                             saved=result.ok)


def _choices(request, membership, integration) -> HttpResponse:
    """One listed setting's control, filled from the provider (or its error in words)."""
    field = provider_forms.choices_for(request.GET, integration, request.GET.get("key", ""))
    if field is None:
        return _message(request, "error", _("That setting is not offered."), status=404)
    return render(request, "integrations/settings/provider_field.html",
                  {"f": field, "can_manage": membership.can_manage, "integration": integration})


def _resource_row(request, membership, integration) -> HttpResponse:
    context = provider_forms.resources_context([], _labels()["entity"])
    return render(request, "integrations/settings/resource_row.html",
                  {**context, "row": provider_forms.blank_resource(
                      {v for k in request.GET if k.endswith("-entity") for v in request.GET.getlist(k)}),
                   "can_manage": membership.can_manage})


def _offers(integration, kind: str) -> bool:
    return any(s.kind == kind for s in provider_forms.page_settings(integration))


def _save_resources(request, membership, integration) -> HttpResponse:
    if not _offers(integration, "resources"):
        return _message(request, "error", _("That setting is not offered."), status=404)
    result, rows = provider_forms.resources_form(request.POST, integration)
    if result.ok:
        integration = services.integration_update(integration=integration, data=result.data)
        return _provider_section(request, integration, errors=[], resources_saved=True)
    response = _provider_section(request, integration, status=400, errors=result.errors,
                                 **provider_forms.resources_context(rows, _labels()["entity"]))
    return response


def _dry_run(request, membership, integration) -> HttpResponse:
    """The API's dry run (POST /sync {"dryRun": true}) on the saved settings: the first page mapped."""
    context: dict[str, Any] = {"errors_title": _("The dry run could not run:")}
    try:
        result = sync.sync_dry_run(integration=integration)
    except sync.SyncNotConfigured as exc:
        context["errors"] = [("", str(exc))]
    except Exception as exc:  # noqa: BLE001 - a provider failure is shown in words, never a 500
        context["errors"] = [("", provider_forms.provider_error_text(exc))]
    else:
        labels = _labels()
        context.update({"errors": [], "summary": result.summary, "truncated": result.truncated, "pages": result.pages,
                        "records": [{"action": r.get("action", ""),
                                     "entity": labels["entity"].get(r.get("localEntity") or r.get("entity") or "", ""),
                                     "remote_id": r.get("remoteId", ""),
                                     "values": json.dumps(r.get("values") or {}, ensure_ascii=False, indent=1, default=str)}
                                    for r in result.records if isinstance(r, dict)]})
    return render(request, "integrations/settings/dry_run.html", context, status=400 if context["errors"] else 200)


def _fetch_templates(request, membership, integration) -> HttpResponse:
    if not _offers(integration, "templates"):
        return _message(request, "error", _("That setting is not offered."), status=404)
    result = provider_forms.templates_fetch(integration)
    if result.ok:
        integration = services.integration_update(integration=integration, data=result.data)
    return _provider_section(request, integration, status=200 if result.ok else 400,
                             errors=result.errors, templates_fetched=result.ok,
                             errors_title=_("The templates could not be fetched:"))


READS = {"history": _history, "status": _status, "run-text": _run_text, "mapping-row": _mapping_row, "choices": _choices,
         "resource-row": _resource_row}
WRITES = {"sync": _save_sync, "mappings": _save_mappings, "preview": _preview, "test": _test,
          "sync-now": _sync_now, "retry": _sync_now, "disconnect": _disconnect, "provider": _save_provider,
          "resources": _save_resources, "dry-run": _dry_run, "templates": _fetch_templates}
#: POSTs a member may make: they change nothing (the API's member_actions).
MEMBER_POSTS = frozenset({"preview"})
