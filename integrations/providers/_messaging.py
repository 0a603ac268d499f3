"""What the three messaging providers share (issue 16; seed section ג, WhatsAppConfig): the
settings, the message an adapter sends, what a provider webhook says about messages, and
how a send call's answer is judged.

``Integration.settings`` of a messaging integration (camelCase; the seed's flags first)::

    {"sendMeetingReminders": true, "sendPaymentReminders": true, "sendDeliveryUpdates": true,
     "logIncomingMessages": true, "logOutgoingMessages": true,
     "quietHours": {"start": "21:00", "end": "08:00", "timezone": "Asia/Jerusalem"},
     "defaultCountryCode": "972",
     "fromNumber": "+15005550006",                     # Twilio: the sender (or messagingServiceSid)
     "fromEmail": "studio@example.com", "fromName": "", # SendGrid
     "approvedTemplates": [...],                        # WhatsApp: fetched from the account
     "messageRules": [{
        "id": "meeting-reminder", "enabled": true, "entityType": "meeting",
        "minutesBefore": 1440, "timeField": "startTime",   # a reminder before a time field
        # or "event": "created" | "updated" | "status_changed" (+ "status": "paid")
        "recipients": "attendees" | "client",
        "template": "meeting_reminder", "language": "he",  # WhatsApp template / SendGrid "d-..." id
        "parameters": ["{{entity.title}}", "{{entity.startTime}}"],  # WhatsApp body parameters
        "dynamicData": {"title": "{{entity.title}}"},                # SendGrid dynamic_template_data
        "body": "Reminder: {{entity.title}}",                        # Twilio SMS text
        "subject": ""                                                 # SendGrid (a template has its own)
     }]}

A rule sends one message per (entity, rule, occurrence, recipient): the occurrence of a
reminder is the time field's value (a meeting moved is a new occurrence, the pending reminder
of the old time is dropped), of an event rule the event and the status it reached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from core.phones import normalize_phone  # noqa: F401 - re-exported: the providers' and rules' name for it
from integrations.providers.adapter import (
    CredentialsRefused,
    ProviderAdapter,
    RecordRefused,
    RemoteChange,
    RetryLater,
)

#: Entity types a rule may fire on (a ``message`` never triggers a message: no loops).
RULE_ENTITY_TYPES = ("meeting", "payment", "task", "client", "document", "expense")
RULE_EVENTS = ("created", "updated", "status_changed")
RECIPIENTS = ("attendees", "client")
FLAGS = ("sendMeetingReminders", "sendPaymentReminders", "sendDeliveryUpdates", "logIncomingMessages",
         "logOutgoingMessages")
#: The seed flag that gates a rule on an entity type (other types: no gate).
GATES = {"meeting": "sendMeetingReminders", "payment": "sendPaymentReminders"}
MAX_RULES = 20
MAX_MINUTES_BEFORE = 60 * 24 * 30
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_RULE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
#: Inbound words that opt a sender out / back in (Twilio's and WhatsApp's usual keywords; Hebrew "remove").
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "הסר", "הסרה"})
START_WORDS = frozenset({"start", "unstop", "yes"})


# --------------------------------------------------------------------------- what adapters exchange
@dataclass(frozen=True)
class OutboundMessage:
    """One message as the rule rendered it, for ``send_message``."""

    channel: str
    to: str
    body: str = ""
    subject: str = ""
    template: str = ""
    language: str = ""
    parameters: tuple[str, ...] = ()
    dynamic_data: Mapping[str, Any] = field(default_factory=dict)
    sender: str = ""
    sender_name: str = ""
    status_callback: str | None = None
    hub_id: str = ""


@dataclass(frozen=True)
class SentMessage:
    remote_id: str
    status: str = "sent"


@dataclass(frozen=True)
class MessageEvent:
    """What a provider webhook says: a delivery ``status`` of a message the hub sent (by its
    ``remote_id``), an ``inbound`` message, or an ``opt_out`` (SendGrid unsubscribe)."""

    kind: str
    channel: str
    remote_id: str = ""
    status: str = ""
    error: str = ""
    sender: str = ""
    to: str = ""
    body: str = ""
    hub_id: str = ""  # the hub's message id where the provider echoes it (SendGrid custom args)


class SendRefused(RecordRefused):
    """The provider refused this message (a 4xx other than auth and rate limit): it is failed,
    not retried. The text is the provider's code and message, without secrets."""


class SendDeferred(RetryLater):
    """Not sent now, worth retrying (429, 5xx, network): ``retry_after`` seconds when the
    provider said (Retry-After)."""


def judge(answer: Any, error_text: str) -> None:
    """Raise what a failed send answer means (callers handle 2xx themselves):
    401/403 -> CredentialsRefused; 429 -> SendDeferred with Retry-After; 5xx -> SendDeferred;
    other 4xx -> SendRefused."""
    status = answer.status
    if status in (401, 403):
        raise CredentialsRefused(f"the provider refused the credentials ({status}): {error_text}")
    if status == 429:
        retry = None
        try:
            retry = float((answer.headers or {}).get("Retry-After", ""))
        except ValueError:
            retry = None
        raise SendDeferred(f"rate limited (429): {error_text}", retry)
    if status >= 500:
        raise SendDeferred(f"provider error ({status}): {error_text}")
    raise SendRefused(f"{status}: {error_text}")


# --------------------------------------------------------------------------- the engine's side
#: The ``message`` record's fields the engine maps to the provider's record (and back): the
#: message as the rule rendered it.
MESSAGE_FIELDS = ("to", "from", "subject", "body", "content")


class MessagingAdapter(ProviderAdapter):
    """What the three messaging adapters share with the sync engine (issue 16): outgoing
    ``message`` records are exported like any record -- queued when a rule's message comes due
    (integrations.messaging.send), drained by the realtime export -- and the export's create
    is the send. A message is sent once: an update or a delete of a sent one asks nothing of
    the provider (its status comes back by webhook)."""

    standing_exports = (("message", "message"),)
    max_export_attempts = 6

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        if (local_type, remote_type) != ("message", "message"):
            return []
        return [{"localEntity": "message", "localField": name, "remoteField": name} for name in MESSAGE_FIELDS]

    def outbound(self, record: Mapping[str, Any], *, hub_id: str, status_callback: str | None) -> OutboundMessage:
        content = record.get("content") if isinstance(record.get("content"), Mapping) else {}
        pairs = content.get("dynamicData") if isinstance(content.get("dynamicData"), list) else []
        return OutboundMessage(
            channel=str(self.message_channel), to=str(record.get("to") or ""), body=str(record.get("body") or ""),
            subject=str(record.get("subject") or ""), template=str(content.get("template") or ""),
            language=str(content.get("language") or ""),
            parameters=tuple(str(p) for p in content.get("parameters") or []),
            dynamic_data={str(p.get("name")): p.get("value") for p in pairs if isinstance(p, Mapping) and p.get("name")},
            sender=str(record.get("from") or ""), sender_name=str(content.get("fromName") or ""),
            status_callback=status_callback, hub_id=hub_id)

    def push_create(self, client: Any, *, container: str, record: Mapping[str, Any], hub_id: str) -> RemoteChange:
        """Send the message; raises CredentialsRefused, SendDeferred (RetryLater) or SendRefused
        (RecordRefused), which the export maps to expired / backoff / a failed item."""
        sent = self.send_message(client, self.outbound(record, hub_id=hub_id, status_callback=client.hook_url))
        return RemoteChange(remote_id=sent.remote_id or f"hub:{hub_id}", deleted=False,
                            raw={"status": sent.status, "remoteId": sent.remote_id})

    def push_update(self, client: Any, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        return RemoteChange(remote_id=remote_id, deleted=False)  # sent once; nothing to change there

    def push_delete(self, client: Any, *, container: str, remote_id: str, version: str | None) -> None:
        return None  # a sent message cannot be unsent


# --------------------------------------------------------------------------- rendering
def render(template: str, context: Mapping[str, Any]) -> str:
    """``{{entity.title}}`` placeholders replaced by the value at that path ("" when missing)."""

    def value(match: re.Match) -> str:
        current: Any = context
        for part in match.group(1).split("."):
            if isinstance(current, Mapping):
                current = current.get(part)
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return ""
        return "" if current is None else str(current)

    return _PLACEHOLDER.sub(value, template or "")


# --------------------------------------------------------------------------- settings
def settings_defaults(**extra: Any) -> dict[str, Any]:
    return {**{flag: True for flag in FLAGS}, "messageRules": [], "quietHours": None,
            "defaultCountryCode": "972", **extra}


def quiet_window(value: Any) -> tuple[time, time, ZoneInfo] | None:
    if not value:
        return None
    start, end = _CLOCK.match(value["start"]), _CLOCK.match(value["end"])
    return (time(int(start[1]), int(start[2])), time(int(end[1]), int(end[2])),
            ZoneInfo(value.get("timezone") or "Asia/Jerusalem"))


def settings_errors(value: Mapping[str, Any], *, channel_keys: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Problems with a messaging integration's settings, by key; {} = valid.
    ``channel_keys``: the rule keys this provider reads besides the common ones."""
    errors: dict[str, list[str]] = {}
    known = {*FLAGS, "messageRules", "quietHours", "defaultCountryCode", "fromNumber", "messagingServiceSid",
             "fromEmail", "fromName", "approvedTemplates"}
    for key in value:
        if key not in known:
            errors.setdefault(key, []).append(_("unknown setting"))
    for flag in FLAGS:
        if flag in value and not isinstance(value[flag], bool):
            errors.setdefault(flag, []).append(_("must be true or false"))
    code = value.get("defaultCountryCode")
    if code is not None and not (isinstance(code, str) and re.fullmatch(r"\d{1,4}", code)):
        errors.setdefault("defaultCountryCode", []).append(_("must be 1-4 digits (972)"))
    for key in ("fromNumber", "messagingServiceSid", "fromEmail", "fromName"):
        if key in value and not (isinstance(value[key], str) and len(value[key]) <= 320):
            errors.setdefault(key, []).append(_("must be text of at most %(n)s characters") % {"n": 320})
    quiet = value.get("quietHours")
    if quiet is not None:
        problems = []
        if not isinstance(quiet, Mapping) or set(quiet) - {"start", "end", "timezone"}:
            problems.append(_('must be {"start": "HH:MM", "end": "HH:MM", "timezone"?}'))
        else:
            for part in ("start", "end"):
                if not (isinstance(quiet.get(part), str) and _CLOCK.match(quiet[part])):
                    problems.append(_("%(part)s must be HH:MM (24 h)") % {"part": part})
            if not _zone_ok(quiet.get("timezone", "Asia/Jerusalem")):
                problems.append(_("timezone must be an IANA time zone (Asia/Jerusalem)"))
        if problems:
            errors["quietHours"] = problems
    rules = value.get("messageRules", [])
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        errors.setdefault("messageRules", []).append(_("must be a list of at most %(n)s rules") % {"n": MAX_RULES})
        return errors
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        for problem in _rule_errors(rule, channel_keys):
            errors.setdefault(f"messageRules[{index}]", []).append(problem)
        if isinstance(rule, Mapping) and rule.get("id") in seen:
            errors.setdefault(f"messageRules[{index}]", []).append(_("id must be unique"))
        if isinstance(rule, Mapping) and isinstance(rule.get("id"), str):
            seen.add(rule["id"])
    return errors


def _zone_ok(zone: Any) -> bool:
    if not isinstance(zone, str) or not zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _rule_errors(rule: Any, channel_keys: tuple[str, ...]) -> list[str]:
    if not isinstance(rule, Mapping):
        return [_("must be an object")]
    problems = []
    allowed = {"id", "enabled", "entityType", "minutesBefore", "timeField", "event", "status", "recipients",
               *channel_keys}
    for key in rule:
        if key not in allowed:
            problems.append(_("%(key)s: unknown key (this provider reads %(known)s)")
                            % {"key": key, "known": ", ".join(sorted(allowed))})
    if not (isinstance(rule.get("id"), str) and _RULE_ID.match(rule["id"])):
        problems.append(_("id must be 1-100 letters, digits, '.', '_' or '-'"))
    if "enabled" in rule and not isinstance(rule["enabled"], bool):
        problems.append(_("enabled must be true or false"))
    if rule.get("entityType") not in RULE_ENTITY_TYPES:
        problems.append(_("entityType must be one of %(choices)s") % {"choices": ", ".join(RULE_ENTITY_TYPES)})
    before, event = rule.get("minutesBefore"), rule.get("event")
    if (before is None) == (event is None):
        problems.append(_("a rule has either minutesBefore (a reminder) or event"))
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)
                               or not 0 <= before <= MAX_MINUTES_BEFORE):
        problems.append(_("minutesBefore must be a whole number 0-%(max)s") % {"max": MAX_MINUTES_BEFORE})
    if event is not None and event not in RULE_EVENTS:
        problems.append(_("event must be one of %(choices)s") % {"choices": ", ".join(RULE_EVENTS)})
    if "timeField" in rule and not (isinstance(rule["timeField"], str) and re.fullmatch(r"[A-Za-z]{1,50}", rule["timeField"])):
        problems.append(_("timeField must be a field name (startTime)"))
    if "status" in rule and not (isinstance(rule["status"], str) and len(rule["status"]) <= 30):
        problems.append(_("status must be a status name"))
    if rule.get("recipients", "client") not in RECIPIENTS:
        problems.append(_("recipients must be one of %(choices)s") % {"choices": ", ".join(RECIPIENTS)})
    for key in ("template", "language", "body", "subject"):
        if key in rule and not (isinstance(rule[key], str) and len(rule[key]) <= 1600):
            problems.append(_("%(key)s must be text of at most %(n)s characters") % {"key": key, "n": 1600})
    if "parameters" in rule and not (isinstance(rule["parameters"], list) and len(rule["parameters"]) <= 20
                                     and all(isinstance(p, str) and len(p) <= 500 for p in rule["parameters"])):
        problems.append(_("parameters must be a list of at most 20 texts"))
    if "dynamicData" in rule and not (isinstance(rule["dynamicData"], Mapping) and len(rule["dynamicData"]) <= 50
                                      and all(isinstance(v, str) and len(v) <= 1000 for v in rule["dynamicData"].values())):
        problems.append(_("dynamicData must be an object of at most 50 texts"))
    return problems
