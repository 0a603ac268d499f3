"""The settings page's forms turned into the API's own input, checked by the API's own rules.

A form post becomes exactly the body ``PATCH /api/integrations/{id}`` or
``POST .../mappings/preview`` would receive, and goes through the same serializer
(``IntegrationUpdateSerializer`` / ``MappingPreviewSerializer``) and the same service.
What is decided here is only how HTML controls spell those values: an unticked checkbox
sends nothing (so each form lists the keys it rendered), JSON typed into a text box is
parsed (a parse error is the form's own 400), NUL and lone surrogates are refused as
the API's parser refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError

from core.parsers import check_text, json_loads
from integrations.models import Integration
from integrations.providers.catalog import get_provider
from integrations.serializers import IntegrationUpdateSerializer, MappingPreviewSerializer
from integrations.services import settings_with_defaults

MAX_ROWS = 200  # the API's MAX_MAPPINGS


@dataclass
class FormResult:
    """Validated API input, or errors as (where, message) pairs to show beside the form."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def flatten_errors(errors: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A DRF error tree as (path, message) pairs: {"sync_settings": {"entities[0]": [...]}}."""
    out: list[tuple[str, str]] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = "" if key == "non_field_errors" else str(key)
            out += flatten_errors(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
    elif isinstance(errors, list | tuple):
        for item in errors:
            out += flatten_errors(item, prefix)
    else:
        out.append((prefix, str(errors)))
    return out


def _checked(post: QueryDict) -> list[tuple[str, str]]:
    try:
        check_text({k: post.getlist(k) for k in post})
    except ParseError:
        return [("", _("The form contains characters that cannot be stored (NUL)."))]
    return []


def _flag(post: QueryDict, name: str) -> bool:
    return post.get(name) in ("on", "true", "1")


# --------------------------------------------------------------------------- sync settings
def sync_form(post: QueryDict, integration: Integration) -> FormResult:
    """Section 2: enabled, direction, frequency, the entity pairs, the provider's settings
    and the conflict policy -> {sync_settings, settings, conflict_policy}, validated."""
    problems = _checked(post)
    if problems:
        return FormResult(errors=problems)
    provider = get_provider(integration.provider)
    entities = []
    for i, pair in enumerate(provider.entity_pairs):
        entities.append({"localEntity": pair.local, "remoteEntity": pair.remote,
                         "enabled": _flag(post, f"entity-{i}-enabled"),
                         "direction": post.get(f"entity-{i}-direction", "")})
    sync_settings = {"enabled": _flag(post, "enabled"), "direction": post.get("direction", ""),
                     "frequency": post.get("frequency", ""), "entities": entities}
    payload: dict[str, Any] = {"sync_settings": sync_settings}
    if post.get("conflict_policy"):
        payload["conflict_policy"] = post["conflict_policy"]
    current = settings_with_defaults(integration)
    settings: dict[str, Any] = {}
    for key in post.getlist("setting-flags"):
        if isinstance(current.get(key), bool):
            settings[key] = _flag(post, f"setting-{key}")
    if isinstance(current.get("calendars"), list) and current["calendars"]:
        settings["calendars"] = [
            {**calendar, "syncEnabled": _flag(post, f"calendar-{i}")}
            for i, calendar in enumerate(current["calendars"]) if isinstance(calendar, dict)
        ]
    if "timeZone" in post:
        zone = post.get("timeZone", "").strip()
        if zone:
            settings["timeZone"] = zone
    if settings:
        payload["settings"] = settings
    return _update(payload, integration)


def _update(payload: dict[str, Any], integration: Integration) -> FormResult:
    body = IntegrationUpdateSerializer(data=payload, context={"integration": integration})
    if not body.is_valid():
        return FormResult(errors=flatten_errors(body.errors))
    return FormResult(data=body.validated_data)


# --------------------------------------------------------------------------- field mappings
MAPPING_COLUMNS = ("localEntity", "localField", "remoteField", "transform", "transformConfig", "defaultValue")


def mapping_rows(post: QueryDict) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    """The editor's rows as typed (strings), in order; a row left wholly empty is dropped."""
    columns = {c: post.getlist(f"m-{c}") for c in MAPPING_COLUMNS}
    count = max((len(v) for v in columns.values()), default=0)
    if count > MAX_ROWS:
        return [], [("", _("At most %(n)s field mappings.") % {"n": MAX_ROWS})]
    rows = []
    for i in range(count):
        row = {c: (columns[c][i] if i < len(columns[c]) else "").strip() for c in MAPPING_COLUMNS}
        if row["localField"] or row["remoteField"] or row["defaultValue"] or row["transformConfig"]:
            rows.append(row)
    return rows, []


def rows_to_mappings(rows: list[dict[str, str]]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Typed rows -> IntegrationFieldMapping items. ``transformConfig`` is a JSON object;
    ``defaultValue`` is JSON when it parses as JSON (a number, true, a list...), else text."""
    mappings, errors = [], []
    for n, row in enumerate(rows, start=1):
        item: dict[str, Any] = {"localEntity": row["localEntity"], "localField": row["localField"],
                                "remoteField": row["remoteField"], "transform": row["transform"] or "none"}
        if row["transformConfig"]:
            try:
                item["transformConfig"] = json_loads(row["transformConfig"])
            except ValueError:
                errors.append((_("Row %(n)s") % {"n": n},
                               _("The transform settings must be JSON, for example {\"format\": \"iso\"}.")))
                continue
        if row["defaultValue"]:
            try:
                item["defaultValue"] = json_loads(row["defaultValue"])
            except ValueError:
                item["defaultValue"] = row["defaultValue"]
        mappings.append(item)
    return mappings, errors


def mappings_form(post: QueryDict, integration: Integration) -> FormResult:
    """Section 3 (save): the rows become ``syncSettings.fieldMappings`` (empty: the provider's
    default mapping), validated by the API's rules for sync settings."""
    problems = _checked(post)
    if problems:
        return FormResult(errors=problems)
    if post.get("reset") == "default":
        mappings: list[dict[str, Any]] = []
    else:
        rows, problems = mapping_rows(post)
        mappings, parse_errors = rows_to_mappings(rows)
        problems += parse_errors
        if problems:
            return FormResult(errors=problems)
    stored = integration.sync_settings or {}
    if "direction" not in stored or "frequency" not in stored:
        # Mappings saved before sync was ever set: the API's required keys, as the page shows them.
        stored = {"enabled": False, "direction": "bidirectional", "frequency": "manual", **stored}
    return _update({"sync_settings": {**stored, "fieldMappings": mappings}}, integration)


def preview_form(post: QueryDict, integration: Integration, *, use_rows: bool) -> FormResult:
    """Section 3 (preview): a sample local and/or remote record (JSON) through the mapping
    both ways -- the rows as they are in the editor (unsaved) when ``use_rows``, else the
    stored mapping -- validated by the preview endpoint's serializer."""
    problems = _checked(post)
    if problems:
        return FormResult(errors=problems)
    local_entity, _sep, remote_entity = post.get("pair", "").partition(":")
    payload: dict[str, Any] = {"local_entity": local_entity, "remote_entity": remote_entity}
    for key in ("local", "remote"):
        text = post.get(f"sample-{key}", "").strip()
        if not text:
            continue
        try:
            payload[key] = json_loads(text)
        except ValueError:
            problems.append((key, _("The sample record must be a JSON object.")))
    if use_rows:
        rows, row_problems = mapping_rows(post)
        mappings, parse_errors = rows_to_mappings(rows)
        problems += row_problems + parse_errors
        payload["field_mappings"] = mappings if mappings else None
        if payload["field_mappings"] is None:
            del payload["field_mappings"]
    if problems:
        return FormResult(errors=problems)
    body = MappingPreviewSerializer(data=payload, context={"integration": integration})
    if not body.is_valid():
        return FormResult(errors=flatten_errors(body.errors))
    return FormResult(data=body.validated_data)
