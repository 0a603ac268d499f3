"""The settings page's provider settings (issue 14 item 3; issue 16 "audiences, boards and
templates are not offered in the UI"): the section ``#provider`` of ``/integrations/<id>``.

What a provider offers is its adapter's ``page_settings`` (``integrations.providers.adapter.
PageSetting``), never a branch on a provider id here:

- ``pick`` / ``picks`` from a list the provider returns (Mailchimp audiences, monday boards and
  the chosen board's columns, Xero organisations, Canva designs, Figma projects and files):
  the control first holds the stored value; ``GET .../choices?key=`` (htmx, on load and when
  the setting it depends on changes) asks the adapter's ``setting_choices`` through the
  provider client (``core.outbound`` deadline; no retries, a short rate-limit wait, a 10 s
  deadline, as discovery) and answers the control filled, or the provider's error in words;
- ``text`` / ``number`` / ``ids`` typed (Priority form names, Hashavshevet document types, Figma
  team ids);
- ``resources``: the custom API's editor (one fieldset per resource, add/remove) and the dry run
  (``integrations.sync.services.sync_dry_run``, the API's ``POST /sync {"dryRun": true}``);
- ``templates``: WhatsApp's templates fetched from the account into ``approvedTemplates`` and one
  picked per messaging rule.

Every save is the body ``PATCH /api/integrations/{id}`` would receive (``{"settings": ...}``,
merged over the stored object) through ``IntegrationUpdateSerializer`` (the adapter's
``settings_errors``) and ``services.integration_update``: no second copy of a rule.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from integrations.client import ProviderClient, ProviderError
from integrations.models import Integration
from integrations.pages.settings_forms import FormResult, _checked, _update
from integrations.providers.adapter import Container, CredentialsRefused, CursorInvalid, PageSetting
from integrations.providers.base import LOCAL_ENTITY_TYPES
from integrations.providers.catalog import get_provider
from integrations.providers.custom_api.adapter import METHODS
from integrations.providers.registry import adapter_for
from integrations.services import settings_with_defaults

log = logging.getLogger("architect_studio.integrations")

SIMPLE_KINDS = ("pick", "picks", "ids", "text", "number")
#: The provider calls of the page: bounded as container discovery's (integrations.discovery).
CHOICES_TIMEOUT = (5.0, 10.0)
MAX_CHOICES = 500
#: The resource editor's fields, in the order shown (custom_api settings.resources).
RESOURCE_TEXT = ("listPath", "itemsPath", "idField", "updatedAtField", "cursorParam", "nextCursorPath",
                 "updatedSinceParam", "pageSizeParam", "hubIdField", "createPath", "updatePath", "deletePath")
MAX_RESOURCES = len(LOCAL_ENTITY_TYPES)


def _labels() -> dict[str, str]:
    return {
        "audienceId": _("Audience"), "newMemberStatus": _("Status of a new member"),
        "boardId": _("Board"), "columns.status": _("Status column"), "columns.dueDate": _("Due date column"),
        "columns.description": _("Description column"), "organisationId": _("Organisation"),
        "statusLabels.todo": _("Status label for “To do”"),
        "statusLabels.in_progress": _("Status label for “In progress”"),
        "statusLabels.done": _("Status label for “Done”"),
        "statusLabels.cancelled": _("Status label for “Cancelled”"),
        "forms.client": _("Customers form"), "forms.supplier": _("Suppliers form"), "forms.payment": _("Invoices form"),
        "documentTypes.payment": _("Document type for payments"),
        "documentTypes.expense": _("Document type for expenses"),
        "ownership": _("Designs to list"), "designIds": _("Designs to sync"), "teamIds": _("Team numbers"),
        "projectIds": _("Projects to sync"), "fileKeys": _("Files to sync"),
        # the resource editor
        "entity": _("Record"), "listPath": _("List address"), "itemsPath": _("Where the items are in the answer"),
        "idField": _("Id field"), "updatedAtField": _("Updated-at field"), "cursorParam": _("Cursor parameter"),
        "nextCursorPath": _("Where the next cursor is"), "updatedSinceParam": _("Updated-since parameter"),
        "pageSizeParam": _("Page size parameter"), "pageSize": _("Page size"), "hubIdField": _("Field for the hub's id"),
        "createPath": _("Create address"), "createMethod": _("Create method"), "updatePath": _("Update address"),
        "updateMethod": _("Update method"), "deletePath": _("Delete address"), "deleteMethod": _("Delete method"),
    }


def _option_labels() -> dict[str, str]:
    return {"pending": _("Pending (asked to confirm by email)"), "subscribed": _("Subscribed"),
            "any": _("All designs"), "owned": _("Designs I own"), "shared": _("Designs shared with me")}


def _help() -> dict[str, str]:
    return {
        "designIds": _("None picked: every design is synced."),
        "projectIds": _("A picked project syncs all of its files."),
        "fileKeys": _("None picked: every file of the picked projects (or of the teams) is synced."),
        "teamIds": _("The number in the address of the team's page in Figma (figma.com/files/team/1234…). "
                     "Several: separate them with commas."),
        "statusLabels.todo": _("Each label as the board's status column writes it. Empty: a task to do is written "
                               "without a label; an item whose label is not listed here is imported as “To do”."),
        "documentTypes.payment": _("The document type number in Hashavshevet; empty: not issued."),
        "documentTypes.expense": _("The document type number in Hashavshevet; empty: not issued."),
        "listPath": _("Starts with /, under the base URL, e.g. /v1/clients"),
        "itemsPath": _("Dot path, e.g. data; empty: the answer is the list"),
        "nextCursorPath": _("Dot path, e.g. meta.next_cursor; empty: one page only"),
        "updatePath": _("Contains {id}, e.g. /v1/clients/{id}"), "deletePath": _("Contains {id}, e.g. /v1/clients/{id}"),
    }


def control_id(key: str) -> str:
    return "ps-" + key.replace(".", "-")


def _value_at(settings: dict[str, Any], key: str) -> Any:
    top, _dot, sub = key.partition(".")
    value = settings.get(top)
    if sub:
        value = value.get(sub) if isinstance(value, dict) else None
    return value


def page_settings(integration: Integration) -> tuple[PageSetting, ...]:
    return adapter_for(get_provider(integration.provider)).page_settings


def field_context(setting: PageSetting, value: Any, *, choices: list[Container] | None = None,
                  error: str = "", loaded: bool = False) -> dict[str, Any]:
    """One control: its label, help and options (the fetched ones, or the stored value alone)."""
    labels, option_labels = _labels(), _option_labels()
    chosen = [str(v) for v in value] if isinstance(value, list) else ([] if value in (None, "") else [str(value)])
    if setting.options:
        options = [(o, option_labels.get(o, o)) for o in setting.options]
    else:
        options = [(c.id, c.name) for c in (choices or [])][:MAX_CHOICES]
        known = {o[0] for o in options}
        options += [(v, v) for v in chosen if v not in known]  # a stored pick the list no longer has stays visible
    return {"key": setting.key, "id": control_id(setting.key), "kind": setting.kind, "label": labels.get(setting.key, setting.key),
            "help": _help().get(setting.key, ""), "options": options, "chosen": chosen,
            "text": ", ".join(chosen) if setting.kind == "ids" else (chosen[0] if chosen else ""),
            "source": setting.source, "after": control_id(setting.after) if setting.after else "",
            "error": error, "loaded": loaded, "fixed": bool(setting.options), "count": len(choices or [])}


def provider_context(integration: Integration, entity_names: dict[str, str]) -> dict[str, Any]:
    """The ``#provider`` section: {"provider_fields", "resources", "templates"...} (empty: no section)."""
    current = settings_with_defaults(integration)
    settings = page_settings(integration)
    kinds = {s.kind for s in settings}
    context: dict[str, Any] = {
        "provider_fields": [field_context(s, _value_at(current, s.key)) for s in settings if s.kind in SIMPLE_KINDS],
        "has_provider_section": bool(settings),
    }
    if "resources" in kinds:
        context.update(resources_context(_resource_rows(current.get("resources")), entity_names))
    if "templates" in kinds:
        context.update(templates_context(current))
    return context


# --------------------------------------------------------------------------- simple settings
def settings_from_form(data: QueryDict, integration: Integration, *, strict: bool = True) -> FormResult:
    """The posted controls as a ``settings`` object (``ps-keys`` lists the keys the form rendered);
    ``strict`` False (choices lookups) skips what does not parse instead of refusing it."""
    current = settings_with_defaults(integration)
    rendered = set(data.getlist("ps-keys"))
    out: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for setting in page_settings(integration):
        if setting.kind not in SIMPLE_KINDS or setting.key not in rendered:
            continue
        name = control_id(setting.key)
        if setting.kind == "picks":
            value: Any = [v for v in data.getlist(name) if v]
        elif setting.kind == "ids":
            value = [p for p in re.split(r"[\s,]+", data.get(name, "")) if p]
        elif setting.kind == "number":
            text = data.get(name, "").strip()
            if not text:
                value = setting.blank
            elif text.isdigit() and len(text) < 10:
                value = int(text)
            else:
                if strict:
                    errors.append((_labels().get(setting.key, setting.key), _("must be a whole number")))
                continue
        else:
            value = data.get(name, "").strip() or setting.blank
        top, _dot, sub = setting.key.partition(".")
        if sub:
            base = out.get(top) or (dict(current[top]) if isinstance(current.get(top), dict) else {})
            out[top] = {**base, sub: value}
        else:
            out[top] = value
    if "templates" in {s.kind for s in page_settings(integration)}:
        rules = _rules_from_form(data, current)
        if rules is not None:
            out["messageRules"] = rules
    return FormResult(data=out, errors=errors)


def provider_form(post: QueryDict, integration: Integration) -> FormResult:
    problems = _checked(post)
    if problems:
        return FormResult(errors=problems)
    result = settings_from_form(post, integration)
    if not result.ok:
        return result
    if not result.data:
        return FormResult(errors=[("", _("There is nothing to save."))])
    return _update({"settings": result.data}, integration)


def provider_error_text(exc: Exception) -> str:
    """A provider failure in words: the adapters' and the client's messages carry no secrets;
    anything else is not shown (it may be a bug: logged)."""
    if isinstance(exc, CredentialsRefused):
        return _("The provider refused the connection's credentials: reconnect it.")
    if isinstance(exc, NotImplementedError):
        return _("This provider offers no such list.")
    if isinstance(exc, ProviderError | CursorInvalid) or type(exc).__module__.startswith("integrations.providers."):
        # An adapter error that can say itself in the page's language does (the custom API's).
        words = exc.in_words() if callable(getattr(exc, "in_words", None)) else str(exc)
        return _("The provider answered: %(reason)s") % {"reason": words[:300]}
    log.warning("settings page: a provider list failed unexpectedly (%s)", type(exc).__name__)
    return _("The provider's answer could not be read.")


def fetch_choices(integration: Integration, setting: PageSetting, settings: dict[str, Any]) -> tuple[list[Container], str]:
    """(choices, error in words): one bounded read through the provider client, outside any
    transaction the caller should not hold (the page's request holds the tenant's)."""
    adapter = adapter_for(get_provider(integration.provider))
    try:
        client = ProviderClient.for_integration(integration, max_retries=0, max_wait=5.0, timeout=CHOICES_TIMEOUT)
        return list(adapter.setting_choices(client, setting.source, settings))[:MAX_CHOICES], ""
    except Exception as exc:  # noqa: BLE001 - any provider failure is shown in words, never a 500
        return [], provider_error_text(exc)


def choices_for(data: QueryDict, integration: Integration, key: str) -> dict[str, Any] | None:
    """The control of ``key`` filled from the provider (None: no such listed setting)."""
    setting = next((s for s in page_settings(integration) if s.key == key and s.source), None)
    if setting is None:
        return None
    current = settings_with_defaults(integration)
    typed = settings_from_form(data, integration, strict=False).data  # the form as it is now (unsaved)
    merged = {**current, **typed}
    choices, error = fetch_choices(integration, setting, merged)
    value = _value_at(merged, key) if setting.key.partition(".")[0] in typed else _value_at(current, key)
    return field_context(setting, value, choices=choices, error=error, loaded=not error)


# --------------------------------------------------------------------------- custom API resources
def _resource_rows(resources: Any) -> list[dict[str, Any]]:
    rows = []
    for entity, config in (resources or {}).items() if isinstance(resources, dict) else []:
        if isinstance(config, dict):
            rows.append({"n": uuid.uuid4().hex[:8], "entity": entity,
                         **{k: str(config.get(k, "")) for k in RESOURCE_TEXT},
                         "pageSize": str(config.get("pageSize", "")),
                         **{m: str(config.get(m, allowed[0])) for m, allowed in METHODS.items()}})
    return rows


def blank_resource(used: set[str] | None = None) -> dict[str, Any]:
    entity = next((t for t in LOCAL_ENTITY_TYPES if t not in (used or set())), LOCAL_ENTITY_TYPES[0])
    return {"n": uuid.uuid4().hex[:8], "entity": entity, **{k: "" for k in RESOURCE_TEXT}, "idField": "id",
            "pageSize": "", **{m: allowed[0] for m, allowed in METHODS.items()}}


def resources_context(rows: list[dict[str, Any]], entity_names: dict[str, str]) -> dict[str, Any]:
    """``entity_names``: the record names the page uses (``settings._labels()["entity"]``)."""
    return {"resource_rows": rows, "has_resources": True,
            "resource_entities": [(t, entity_names.get(t, t)) for t in LOCAL_ENTITY_TYPES],
            "resource_methods": [(m, allowed) for m, allowed in METHODS.items()],
            "resource_text": RESOURCE_TEXT, "resource_labels": _labels(), "resource_help": _help()}


def resource_rows_from_form(post: QueryDict) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The editor's fieldsets as typed, in order (``r-n`` names each fieldset)."""
    rows = []
    for n in post.getlist("r-n")[:MAX_RESOURCES + 1]:
        if not re.fullmatch(r"[0-9a-f]{8}", n):
            continue
        row = {"n": n, "entity": post.get(f"r-{n}-entity", ""), "pageSize": post.get(f"r-{n}-pageSize", "").strip(),
               **{k: post.get(f"r-{n}-{k}", "").strip() for k in RESOURCE_TEXT},
               **{m: post.get(f"r-{n}-{m}", "") for m in METHODS}}
        rows.append(row)
    if len(rows) > MAX_RESOURCES:
        return rows, [("", _("At most one resource per record type."))]
    return rows, []


def resources_form(post: QueryDict, integration: Integration) -> tuple[FormResult, list[dict[str, Any]]]:
    """The editor -> ``settings.resources`` through the API's rules (the adapter's ``settings_errors``)."""
    problems = _checked(post)
    if problems:
        return FormResult(errors=problems), []
    rows, problems = resource_rows_from_form(post)
    resources: dict[str, Any] = {}
    labels = _labels()
    for row in rows:
        if row["entity"] in resources:
            problems.append((labels["entity"], _("Each record type can have one resource only.")))
            continue
        config: dict[str, Any] = {k: row[k] for k in RESOURCE_TEXT if row[k]}
        if row["pageSize"]:
            if not row["pageSize"].isdigit() or len(row["pageSize"]) > 6:
                problems.append((labels["pageSize"], _("must be a whole number")))
                continue
            config["pageSize"] = int(row["pageSize"])
        for method, path in (("createMethod", "createPath"), ("updateMethod", "updatePath"),
                             ("deleteMethod", "deletePath")):
            if row[path]:
                config[method] = row[method]
        resources[row["entity"]] = config
    if problems:
        return FormResult(errors=problems), rows
    return _update({"settings": {"resources": resources}}, integration), rows


# --------------------------------------------------------------------------- WhatsApp templates
def templates_context(current: dict[str, Any]) -> dict[str, Any]:
    templates = [t for t in current.get("approvedTemplates") or [] if isinstance(t, dict) and t.get("templateName")]
    rules = []
    for i, rule in enumerate(current.get("messageRules") or []):
        if isinstance(rule, dict):
            rules.append({"index": i, "id": rule.get("id", ""), "entityType": rule.get("entityType", ""),
                          "chosen": f"{rule.get('template', '')}|{rule.get('language', '')}",
                          "template": rule.get("template", ""), "language": rule.get("language", "")})
    options = [(f"{t['templateName']}|{t.get('language', '')}",
                f"{t['templateName']} ({t.get('language', '')})", t.get("status", "")) for t in templates]
    for rule in rules:  # a rule's template not in the fetched list stays visible
        if rule["template"] and rule["chosen"] not in {o[0] for o in options}:
            options.append((rule["chosen"], f"{rule['template']} ({rule['language']})", ""))
    return {"has_templates": True, "templates": templates, "template_options": options, "rules": rules}


def _rules_from_form(data: QueryDict, current: dict[str, Any]) -> list[dict[str, Any]] | None:
    rules = current.get("messageRules")
    if not isinstance(rules, list) or not any(f"rule-{i}-template" in data for i in range(len(rules))):
        return None
    out = []
    for i, rule in enumerate(rules):
        rule = dict(rule) if isinstance(rule, dict) else rule
        picked = data.get(f"rule-{i}-template")
        if isinstance(rule, dict) and picked:
            name, _bar, language = picked.partition("|")
            rule["template"], rule["language"] = name, language
        out.append(rule)
    return out


def templates_fetch(integration: Integration) -> FormResult:
    """The account's templates into ``approvedTemplates`` (the API's rules check the list)."""
    setting = next(s for s in page_settings(integration) if s.kind == "templates")
    choices, error = fetch_choices(integration, setting, settings_with_defaults(integration))
    if error:
        return FormResult(errors=[("", error)])
    return _update({"settings": {"approvedTemplates": [dict(c.raw) for c in choices]}}, integration)
