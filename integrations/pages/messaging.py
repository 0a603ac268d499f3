"""A messaging integration's rules and opt-outs page (/integrations/<id>/messaging; WhatsApp
Business, Twilio, SendGrid): list / add / edit / remove its messaging rules, its quiet hours,
the channel's per-recipient opt-outs, and the recent dispatches with their delivery status.

The rules live in ``Integration.settings`` and are changed only through the API's own
serializer and service (``integrations.messaging.manage``): the page builds the rule the API
would receive, and the adapter's ``settings_errors`` judges it. Roles as the API (C11): a
member sees the page read-only; a member's POST is 403 (checked before anything else about the
integration, so the walker in tests/tenancy/test_page_roles.py sees the refusal), another
studio's integration is 404, and an integration that sends no messages is 404 too.
Bad input answers the section again with its errors and a 4xx, never a 500.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ParseError

from core.parsers import check_text
from entities.models import Message
from integrations import messaging_manage as manage
from integrations import services
from integrations.models import Integration, MessageDispatch
from integrations.pages.settings import _labels, _lookup, _refused
from integrations.pages.settings_forms import flatten_errors
from integrations.providers import _messaging
from integrations.providers.catalog import PROVIDERS

#: The rule keys each channel's adapter reads besides the common ones (the adapters' channel_keys).
CHANNEL_FIELDS = {"whatsapp": ("template", "language", "parameters"), "sms": ("body",),
                  "email": ("template", "subject", "body", "dynamicData")}


def _texts() -> dict[str, dict[str, str]]:
    labels = _labels()
    return {
        "entity": {e: labels["entity"].get(e, e) for e in _messaging.RULE_ENTITY_TYPES},
        "event": {"created": _("Created"), "updated": _("Updated"), "status_changed": _("Status changed")},
        "recipients": {"attendees": _("The meeting's attendees"), "client": _("The client")},
        "kind": {"reminder": _("A reminder before a time"), "event": _("When something happens")},
        "channel": dict(Message.Channel.choices),
        "dispatch": dict(MessageDispatch.Status.choices),
        "delivery": dict(Message.Status.choices),
        "reason": {manage.MANUAL_REASON: _("Added by the studio"), "inbound STOP": _("Replied STOP"),
                   "unsubscribe": _("Unsubscribed"), "group_unsubscribe": _("Unsubscribed"),
                   "spamreport": _("Reported as spam"), "bounce": _("Bounced"), "dropped": _("Dropped")},
    }


def _rule_row(rule: dict[str, Any], texts: dict[str, dict[str, str]]) -> dict[str, Any]:
    if "minutesBefore" in rule:
        when = _("%(minutes)s minutes before") % {"minutes": rule.get("minutesBefore")}
    else:
        when = texts["event"].get(str(rule.get("event")), str(rule.get("event")))
        if rule.get("status"):
            when = f"{when}: {rule['status']}"
    return {"rule": rule, "id": rule.get("id", ""), "enabled": rule.get("enabled", True) is not False,
            "entity_label": texts["entity"].get(str(rule.get("entityType")), str(rule.get("entityType"))),
            "when": when,
            "recipients_label": texts["recipients"].get(str(rule.get("recipients", "client")), "")}


def _form_values(rule: dict[str, Any] | None) -> dict[str, Any]:
    """The editor's fields for a stored rule (or a new one)."""
    rule = rule or {}
    return {
        "rule_id": rule.get("id", ""), "enabled": rule.get("enabled", True) is not False,
        "entity_type": rule.get("entityType", "meeting"),
        "kind": "event" if "event" in rule else "reminder",
        "minutes_before": rule.get("minutesBefore", 1440) if "event" not in rule else "",
        "event": rule.get("event", "created"), "status": rule.get("status", ""),
        "recipients": rule.get("recipients", "client"),
        "template": rule.get("template", ""), "language": rule.get("language", ""),
        "parameters": "\n".join(rule.get("parameters") or []),
        "subject": rule.get("subject", ""), "body": rule.get("body", ""),
        "dynamic_data": "\n".join(f"{k} = {v}" for k, v in (rule.get("dynamicData") or {}).items()),
    }


def _rules_context(integration: Integration, channel: str, *, editing: dict[str, Any] | None = None) -> dict[str, Any]:
    texts = _texts()
    return {
        "rules": [_rule_row(r, texts) for r in manage.rules_of(integration)],
        "editing": editing,
        "fields": CHANNEL_FIELDS.get(channel, ()),
        "entity_types": list(texts["entity"].items()),
        "events": list(texts["event"].items()),
        "recipients_choices": list(texts["recipients"].items()),
        "kinds": list(texts["kind"].items()),
        "max_minutes": _messaging.MAX_MINUTES_BEFORE,
    }


def _quiet_context(integration: Integration) -> dict[str, Any]:
    quiet = services.settings_with_defaults(integration).get("quietHours") or None
    return {"quiet": {"enabled": bool(quiet), "start": (quiet or {}).get("start", "21:00"),
                      "end": (quiet or {}).get("end", "08:00"),
                      "timezone": (quiet or {}).get("timezone", "Asia/Jerusalem")}}


def _opt_outs_context(integration: Integration, channel: str) -> dict[str, Any]:
    texts = _texts()
    return {"opt_outs": [{"row": o, "reason": texts["reason"].get(o.reason, o.reason)}
                         for o in manage.opt_outs(tenant_id=integration.tenant_id, channel=channel)],
            "address_is_email": channel == "email"}


def _dispatches_context(integration: Integration) -> dict[str, Any]:
    texts = _texts()
    rules = {r.get("id"): _rule_row(r, texts) for r in manage.rules_of(integration)}
    rows = []
    for d in manage.recent_dispatches(integration=integration):
        rule = rules.get(d.rule_id)
        rows.append({"d": d, "status_label": texts["dispatch"].get(d.status, d.status),
                     "delivery_label": texts["delivery"].get(d.message.status, d.message.status) if d.message else "",
                     "rule_label": f"{rule['entity_label']} · {rule['when']}" if rule else _("A removed rule"),
                     "entity_label": texts["entity"].get(d.entity_type, d.entity_type)})
    return {"dispatches": rows}


def _page(request: HttpRequest, integration_id: str):
    """(membership, integration, channel); 404 for another studio's or a non-messaging integration."""
    membership, integration = _lookup(request, integration_id)
    channel = manage.channel_of(integration)
    if channel is None:
        raise Http404
    return membership, integration, channel


def _base(membership, integration: Integration, channel: str) -> dict[str, Any]:
    return {"integration": integration, "tenant": membership.tenant, "can_manage": membership.can_manage,
            "channel": channel, "channel_label": _texts()["channel"].get(channel, channel),
            "provider": PROVIDERS.get(integration.provider)}


@require_GET
def messaging_page(request: HttpRequest, integration_id: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership, integration, channel = _page(request, integration_id)
    return render(request, "integrations/messaging.html", {
        **_base(membership, integration, channel), **_rules_context(integration, channel),
        **_quiet_context(integration), **_opt_outs_context(integration, channel),
        **_dispatches_context(integration)})


@require_GET
def rule_form(request: HttpRequest, integration_id: str) -> HttpResponse:
    """The rule editor (?rule=<id> to edit one; none: a new rule)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership, integration, channel = _page(request, integration_id)
    wanted = request.GET.get("rule")
    rule = None
    if wanted:
        rule = next((r for r in manage.rules_of(integration) if r.get("id") == wanted), None)
        if rule is None:
            raise Http404
    return render(request, "integrations/messaging/rule_form.html", {
        **_base(membership, integration, channel), **_rules_context(integration, channel),
        "form": _form_values(rule), "errors": []})


def _writer(view):
    """POST only; signed in; 404 another studio's integration; 403 a member; then 404 a
    non-messaging integration; NUL refused as the API's parser refuses it."""

    @require_POST
    def wrapped(request: HttpRequest, integration_id: str) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership, integration = _lookup(request, integration_id)
        if not membership.can_manage:
            return _refused(request)
        channel = manage.channel_of(integration)
        if channel is None:
            raise Http404
        try:
            check_text({k: request.POST.getlist(k) for k in request.POST})
        except ParseError:
            return render(request, "integrations/settings/message.html",
                          {"kind": "error", "text": _("The form contains characters that cannot be stored (NUL).")},
                          status=400)
        return view(request, membership, integration, channel)

    wrapped.__name__ = view.__name__
    wrapped.__module__ = view.__module__
    return wrapped


# --------------------------------------------------------------------------- rules
def _rule_from_post(post, channel: str, rule_id: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    rule: dict[str, Any] = {"id": rule_id, "enabled": post.get("enabled") in ("on", "true", "1"),
                            "entityType": post.get("entity_type", ""),
                            "recipients": post.get("recipients", "client")}
    if post.get("kind") == "event":
        rule["event"] = post.get("event", "")
        if post.get("status", "").strip():
            rule["status"] = post["status"].strip()
    else:
        raw = post.get("minutes_before", "").strip()
        try:
            minutes = int(raw)
            if not 0 <= minutes <= _messaging.MAX_MINUTES_BEFORE:
                raise ValueError
            rule["minutesBefore"] = minutes
        except ValueError:
            errors.append((_("Minutes before"), _("Enter a whole number from 0 to %(max)s.")
                           % {"max": _messaging.MAX_MINUTES_BEFORE}))
    fields = CHANNEL_FIELDS.get(channel, ())
    for key in ("template", "language", "subject", "body"):
        if key in fields and post.get(key, "").strip():
            rule[key] = post[key].strip()
    if "parameters" in fields:
        params = [line.strip() for line in post.get("parameters", "").splitlines() if line.strip()]
        if params:
            rule["parameters"] = params
    if "dynamicData" in fields:
        data: dict[str, str] = {}
        for line in post.get("dynamic_data", "").splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                errors.append((_("Template data"), _("Each line is name = value.")))
                break
            data[name.strip()] = value.strip()
        if data:
            rule["dynamicData"] = data
    return rule, errors


_RULE_AT = re.compile(r"^messageRules\[(\d+)\]$")


def _where(where: str) -> str:
    """Where the API's rules found a problem, in the page's words: ``settings.messageRules[1]``
    is the table's rule 2 (the rows are numbered as the rules are stored)."""
    key = where.removeprefix("settings.")
    at = _RULE_AT.match(key)
    if at:
        return _("Rule %(n)s") % {"n": int(at[1]) + 1}
    return _("Messaging rules") if key == "messageRules" else key


def _rules_section(request, membership, integration, channel, *, status: int = 200, **extra) -> HttpResponse:
    return render(request, "integrations/messaging/rules.html", {
        **_base(membership, integration, channel), **_rules_context(integration, channel), **extra}, status=status)


@_writer
def rule_save(request, membership, integration, channel) -> HttpResponse:
    existing = request.POST.get("rule_id", "").strip()
    if existing and not any(r.get("id") == existing for r in manage.rules_of(integration)):
        return _rules_section(request, membership, integration, channel, status=404,
                              errors=[("", _("That rule no longer exists."))])
    rule, errors = _rule_from_post(request.POST, channel, existing or manage.new_rule_id(integration))
    if not errors:
        integration, problems = manage.rule_save(integration=integration, rule=rule, replace_id=existing or None)
        if problems:
            errors = [(_where(where), text) for where, text in flatten_errors(problems)]
    if errors:
        form = {**_form_values(None), **{k: request.POST.get(k, "") for k in _form_values(None) if k != "enabled"},
                "enabled": request.POST.get("enabled") in ("on", "true", "1"), "rule_id": existing}
        return _rules_section(request, membership, integration, channel, status=400, form=form, errors=errors,
                              show_editor=True)
    return _rules_section(request, membership, integration, channel, saved=_("The rule was saved."))


@_writer
def rule_delete(request, membership, integration, channel) -> HttpResponse:
    rule_id = request.POST.get("rule_id", "")
    if not any(r.get("id") == rule_id for r in manage.rules_of(integration)):
        return _rules_section(request, membership, integration, channel, status=404,
                              errors=[("", _("That rule no longer exists."))])
    integration = manage.rule_remove(integration=integration, rule_id=rule_id)
    return _rules_section(request, membership, integration, channel, saved=_("The rule was removed."))


# --------------------------------------------------------------------------- quiet hours
@_writer
def quiet_hours_save(request, membership, integration, channel) -> HttpResponse:
    post = request.POST
    if post.get("quiet_enabled") in ("on", "true", "1"):
        value = {"start": post.get("quiet_start", "").strip(), "end": post.get("quiet_end", "").strip(),
                 "timezone": post.get("quiet_timezone", "").strip() or "Asia/Jerusalem"}
    else:
        value = None
    integration, problems = manage.settings_update(integration=integration, settings={"quietHours": value})
    context = {**_base(membership, integration, channel), **_quiet_context(integration)}
    if problems:
        context["errors"] = [(_("Quiet hours"), text) for _where, text in flatten_errors(problems)]
        context["quiet"] = {"enabled": value is not None, **(value or {"start": "", "end": "", "timezone": ""})}
        return render(request, "integrations/messaging/quiet_hours.html", context, status=400)
    context["saved"] = True
    return render(request, "integrations/messaging/quiet_hours.html", context)


# --------------------------------------------------------------------------- opt-outs
def _opt_outs_section(request, membership, integration, channel, *, status: int = 200, **extra) -> HttpResponse:
    return render(request, "integrations/messaging/opt_outs.html", {
        **_base(membership, integration, channel), **_opt_outs_context(integration, channel), **extra}, status=status)


@_writer
def opt_out_add(request, membership, integration, channel) -> HttpResponse:
    address = request.POST.get("address", "")
    try:
        row, created = manage.opt_out_add(integration=integration, channel=channel, address=address)
    except manage.OptOutRefused as exc:
        text = (_("Enter an email address (name@example.com).") if str(exc) == "email"
                else _("Enter a phone number (050-1234567 or +972501234567)."))
        return _opt_outs_section(request, membership, integration, channel, status=400, errors=[("", text)],
                                 typed=address[:320])
    saved = (_("%(address)s will get no more messages.") if created
             else _("%(address)s was already on the list.")) % {"address": row.address}
    return _opt_outs_section(request, membership, integration, channel, saved=saved)


@_writer
def opt_out_delete(request, membership, integration, channel) -> HttpResponse:
    if not manage.opt_out_remove(integration=integration, channel=channel, opt_out_id=request.POST.get("opt_out_id")):
        return _opt_outs_section(request, membership, integration, channel, status=404,
                                 errors=[("", _("That address is no longer on the list."))])
    return _opt_outs_section(request, membership, integration, channel, saved=_("The address may get messages again."))
