"""Field mapping: a local record <-> a provider record, per the seed's IntegrationFieldMapping.

Long on purpose (~600 lines, a third of it this text): paths, the four transforms and the filters are one concern
(what a record becomes), read together when a mapping surprises someone.

Records are plain dicts: the local side camelCase as ``entities.services.entity_snapshot``
gives it, the remote side the provider's JSON (``RemoteChange.raw``). Both sides are
addressed by dot paths:

- ``summary``, ``start.dateTime`` (nested objects), ``items[0].name`` (one list item);
- ``attendees[].email`` (every item): reading gives the list of each item's ``email``
  (items without one are skipped); writing a list creates ``[{"email": v}, ...]``,
  merged by position with other mappings into the same list. A list item that is
  already an object holding the key (``{"email": "a@b.c"}``) gives that key's value.

Transforms (``transform`` + ``transformConfig``):

- ``none``: the value as is.
- ``date_format``: ISO 8601 local values <-> the provider's form, in the integration's
  time zone (``MappingContext.tz``, default Asia/Jerusalem). ``transformConfig.format``:
  ``iso`` (default: RFC 3339 with the offset, e.g. Google's ``start.dateTime``), ``naive_utc``
  (Graph: ``2026-12-02T08:00:00`` in UTC; a path ending ``.dateTime`` also gets the sibling
  ``.timeZone: "UTC"``), ``naive_local`` (wall time in the zone, no offset) or ``date``
  (``YYYY-MM-DD``). All-day events: a remote ``X.dateTime`` that is absent while
  ``X.date`` is present reads as midnight of that day in the zone (Google's exclusive end
  date is then exactly the end); a local date-only value (a task's ``dueDate``) is written
  to ``X.date``. ``transformConfig.local: "date"`` keeps the local value a date.
  ``transformConfig.timeZone`` overrides the zone for this field.
- ``currency_convert``: ``{"from": "ILS", "to": "USD"}`` (``from`` is the local currency,
  ``to`` the remote one), or ``fromField`` / ``toField`` naming the field holding the code
  (local path for ``fromField``, remote path for ``toField``; the static code is the fallback).
  The rate is the newest ``CurrencyRate`` valid on or before the record's date
  (``MappingContext.on_date``, else ``transformConfig.dateField`` read from the source
  record, else today in the zone); the inverse rate is used when only that is stored.
  No network call. No rate = a ``MappingError`` for that record. Each rate used is
  appended to ``ctx.notes`` so the run log keeps it. Amounts round half-up to 2 decimals
  (``decimals`` overrides); local values are decimal strings, remote values JSON numbers
  (``remoteAs: "string"`` or ``"minor"`` for integer cents).
- ``custom``: ``{"name": ..., "params": {...}}``, a function of ``integrations.sync.custom``.
- ``link``: ``{"entity": "client"}``: a reference to another synced record (a payment's
  ``clientId`` -> an invoice's ``CustomerRef.value``). Exporting, the local id becomes the
  remote id the integration's link of that record holds (none yet = a ``MappingError``: the
  record waits for its retry, by when the referenced one is exported); importing, the remote
  id becomes the linked local id (none: nothing is written). Lookups through
  ``MappingContext.link_lookup`` (the integration's ExternalLink rows, cached per context).

``transformConfig.direction: "import"`` (any transform): a value only the provider sets (a
file's size or link) -- read into the local record, never written to the provider, and a
local value of it never counts as a local change.

``defaultValue``: when the source value is missing, null, "" or [] the default is written
instead (as is, no transform), in both directions. A missing source without a default
writes nothing (the destination keeps its value).

Filters (``field``, ``operator``, ``value``; all must match): ``equals``, ``not_equals``,
``contains`` (text: case-insensitive substring; list: an item equals the value) and
``in_list``. On a ``[]`` path they hold when any item matches (``not_equals``: none equals).
A missing field matches only ``not_equals``.

Everything here is deterministic and free of I/O except the rate lookup, which goes
through ``MappingContext.rate_lookup`` (the database by default, cached per context).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from core.words import Words, english, is_words, words
from entities.models import entity_type_words
from integrations.sync.custom import REGISTRY as CUSTOM_REGISTRY
from integrations.sync.custom import CustomError, custom_errors

DEFAULT_TZ = "Asia/Jerusalem"
TRANSFORMS = ("none", "date_format", "currency_convert", "custom", "link")
DATE_FORMATS = ("iso", "naive_utc", "naive_local", "date")
FILTER_OPERATORS = ("equals", "not_equals", "contains", "in_list")


_MISSING: Any = object()
_SEGMENT = re.compile(r"^([^.\[\]\s]+)(\[\]|\[(\d{1,3})\])?$")


class MappingConfigError(ValueError):
    """A mapping or filter that cannot be compiled (caught at PATCH by the serializer).

    Its text is translated when raised (the request's language at PATCH, the default one in a worker)."""


class MappingError(ValueError):
    """One record could not be mapped (a bad date, no currency rate): that record fails, the run goes on.

    Raised in a worker, read later by whoever opens the run: the text (``str``) is English, the
    ``words`` (core.words) are what the run's log keeps so a page says it in its reader's language."""

    def __init__(self, field_name: str, message: str | Words) -> None:
        inner = message if is_words(message) else words("%(text)s", text=str(message))
        self.words = words("%(field)s: %(message)s", field=field_name, message=inner)
        super().__init__(english(self.words))
        self.field = field_name


RateLookup = Callable[[str, str, date], "tuple[Decimal, date] | None"]
#: (local entity type, "remote" | "local", id) -> the id on the other side, through the integration's links.
LinkLookup = Callable[[str, str, str], "str | None"]


def no_links(entity: str, want: str, value: str) -> str | None:
    """The lookup of a context with no integration (previews of a mapping): nothing is linked."""
    return None


def database_rate(base: str, quote: str, on: date) -> tuple[Decimal, date] | None:
    """The newest stored rate base -> quote valid on ``on`` (CurrencyRate, operator-managed)."""
    from integrations.models import CurrencyRate

    row = (CurrencyRate.objects.filter(base=base, quote=quote, valid_on__lte=on)
           .order_by("-valid_on").values_list("rate", "valid_on").first())
    return (row[0], row[1]) if row else None


@dataclass
class MappingContext:
    tz: str = DEFAULT_TZ
    on_date: date | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    rate_lookup: RateLookup = database_rate
    link_lookup: LinkLookup = no_links
    _rates: dict[tuple[str, str, date], Any] = field(default_factory=dict, repr=False)
    _links: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)

    def linked(self, entity: str, want: str, value: str) -> str | None:
        key = (entity, want, value)
        if key not in self._links:
            self._links[key] = self.link_lookup(entity, want, value)
        return self._links[key]

    def rate(self, base: str, quote: str, on: date) -> tuple[Decimal, date] | None:
        key = (base, quote, on)
        if key not in self._rates:
            self._rates[key] = self.rate_lookup(base, quote, on)
        return self._rates[key]


# ------------------------------------------------------------------ paths
@dataclass(frozen=True)
class Path:
    text: str
    steps: tuple[tuple[str, str | int | None], ...]  # (key, None | "[]" | index)

    @classmethod
    def parse(cls, text: Any) -> Path:
        if not isinstance(text, str) or not text or len(text) > 200:
            raise MappingConfigError(_("%(path)s is not a field path") % {"path": repr(str(text)[:50])})
        steps = []
        for part in text.split("."):
            m = _SEGMENT.match(part)
            if not m:
                raise MappingConfigError(_("%(path)s is not a field path (e.g. 'start.dateTime', 'attendees[].email')")
                                         % {"path": repr(text[:100])})
            steps.append((m.group(1), "[]" if m.group(2) == "[]" else (int(m.group(3)) if m.group(3) else None)))
        return cls(text, tuple(steps))

    def get(self, record: Any) -> Any:
        return _get(record, self.steps)

    def set(self, record: dict, value: Any) -> None:
        _set(record, self.steps, value)

    def sibling(self, key: str) -> Path | None:
        """The same path with its last key replaced (``start.dateTime`` -> ``start.date``)."""
        last, sub = self.steps[-1]
        if sub is not None:
            return None
        return Path(".".join([*self.text.split(".")[:-1], key]), (*self.steps[:-1], (key, None)))


def _get(node: Any, steps) -> Any:
    for i, (key, sub) in enumerate(steps):
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
        if sub == "[]":
            if not isinstance(node, list):
                return _MISSING
            rest = steps[i + 1:]
            if not rest:
                return list(node)
            out = []
            for item in node:
                value = _get(item, rest)
                if value is _MISSING and not isinstance(item, dict) and len(rest) == 1:
                    value = item  # a bare value standing for its only key
                if value is not _MISSING:
                    out.append(value)
            return out
        if isinstance(sub, int):
            if not isinstance(node, list) or sub >= len(node):
                return _MISSING
            node = node[sub]
    return node


def _set(node: dict, steps, value: Any) -> None:
    key, sub = steps[0]
    rest = steps[1:]
    if sub is None:
        if not rest:
            node[key] = value
            return
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        _set(child, rest, value)
        return
    items = node.get(key)
    if not isinstance(items, list):
        items = node[key] = []
    if isinstance(sub, int):
        while len(items) <= sub:
            items.append({} if rest else None)
        if not rest:
            items[sub] = value
        else:
            if not isinstance(items[sub], dict):
                items[sub] = {}
            _set(items[sub], rest, value)
        return
    values = value if isinstance(value, list) else ([] if value is None else [value])
    if not rest:
        items[:] = values
        return
    leaf = rest[-1][0] if len(rest) == 1 else None
    for i, v in enumerate(values):
        if leaf is not None and isinstance(v, dict):
            v = v.get(leaf)  # an object already holding the key: its value
        while len(items) <= i:
            items.append({})
        if not isinstance(items[i], dict):
            items[i] = {}
        _set(items[i], rest, v)


def _empty(value: Any) -> bool:
    return value is _MISSING or value is None or value == "" or value == []


# ------------------------------------------------------------------ transforms
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise MappingConfigError(_("unknown time zone %(zone)s") % {"zone": repr(str(name)[:60])}) from None


def _parse_instant(value: Any, zone, name: str) -> datetime | date:
    """An ISO 8601 date or date-time; naive date-times are read in ``zone``."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise MappingError(name, words(N_("%(value)s is not a date"), value=repr(value))) from None
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Graph sends 7 fractional digits
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise MappingError(name, words(N_("%(value)s is not an ISO 8601 date-time"), value=repr(value))) from None
    else:
        raise MappingError(name, words(N_("%(value)s is not an ISO 8601 date-time"), value=repr(str(value)[:60])))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


@dataclass(frozen=True)
class Rule:
    """One compiled IntegrationFieldMapping."""

    local: Path
    remote: Path
    transform: str = "none"
    config: Any = None
    default: Any = _MISSING

    # ---- date_format
    def _date_config(self, ctx: MappingContext):
        cfg = self.config if isinstance(self.config, dict) else {}
        return cfg.get("format", "iso"), _zone(cfg.get("timeZone") or ctx.tz), cfg.get("local")

    def _date_to_remote(self, value: Any, ctx: MappingContext, out: dict) -> None:
        fmt, zone, _ = self._date_config(ctx)
        if value is None:
            self.remote.set(out, None)
            return
        instant = _parse_instant(value, zone, self.local.text)
        date_path = self.remote.sibling("date") if self.remote.text.endswith("dateTime") else None
        if not isinstance(instant, datetime):  # a date-only local value: an all-day remote value
            (date_path or self.remote).set(out, instant.isoformat())
            return
        if fmt == "date":
            text = instant.astimezone(zone).date().isoformat()
        elif fmt == "naive_utc":
            text = instant.astimezone(UTC).replace(tzinfo=None).isoformat()
            tz_path = self.remote.sibling("timeZone") if date_path else None
            if tz_path:
                tz_path.set(out, "UTC")
        elif fmt == "naive_local":
            text = instant.astimezone(zone).replace(tzinfo=None).isoformat()
        else:
            text = instant.astimezone(zone).isoformat()
        self.remote.set(out, text)

    def _date_to_local(self, remote: Any, ctx: MappingContext) -> Any:
        fmt, zone, local_kind = self._date_config(ctx)
        value = self.remote.get(remote)
        if value is _MISSING and self.remote.text.endswith("dateTime"):
            value = self.remote.sibling("date").get(remote)  # an all-day event
        if value is _MISSING or value is None:
            return value
        if fmt == "naive_utc":
            zone = UTC
        instant = _parse_instant(value, zone, self.remote.text)
        if local_kind == "date":
            return (instant.astimezone(_zone(ctx.tz)) if isinstance(instant, datetime) else instant).isoformat()[:10]
        if not isinstance(instant, datetime):
            instant = datetime.combine(instant, time(0), tzinfo=_zone(ctx.tz))
        return instant.astimezone(_zone(ctx.tz)).isoformat()

    # ---- currency_convert
    def _convert(self, value: Any, ctx: MappingContext, *, source: dict, partial: dict, to_remote: bool) -> Any:
        cfg = self.config
        if value is None:
            return None
        name = self.local.text
        try:
            amount = Decimal(str(value)) if not isinstance(value, bool) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            raise MappingError(name, words(N_("%(value)s is not an amount"), value=repr(str(value)[:40])))
        local_cur = _currency_code(cfg, "from", "fromField", source if to_remote else partial)
        remote_cur = _currency_code(cfg, "to", "toField", partial if to_remote else source)
        if not local_cur or not remote_cur:
            raise MappingError(name, words(N_("the currency to convert from or to is unknown")))
        base, quote = (local_cur, remote_cur) if to_remote else (remote_cur, local_cur)
        on = ctx.on_date or _record_date(cfg.get("dateField"), source, ctx) or datetime.now(_zone(ctx.tz)).date()
        if base == quote:
            converted = amount
        else:
            found = ctx.rate(base, quote, on)
            inverse = False
            if found is None:
                found, inverse = ctx.rate(quote, base, on), True
            if found is None:
                raise MappingError(name, words(N_("no %(base)s->%(quote)s exchange rate on or before %(date)s"),
                                                 base=base, quote=quote, date=on.isoformat()))
            rate, valid_on = found
            converted = amount / rate if inverse else amount * rate
            ctx.notes.append({"transform": "currency_convert", "field": name, "from": base, "to": quote,
                              "rate": str(rate), "inverse": inverse, "validOn": valid_on.isoformat(),
                              "amount": str(amount)})
        places = Decimal(1).scaleb(-int(cfg.get("decimals", 2)))
        converted = converted.quantize(places, rounding=ROUND_HALF_UP)
        if not to_remote:
            return str(converted)
        kind = cfg.get("remoteAs", "number")
        if kind == "string":
            return str(converted)
        if kind == "minor":
            return int((converted * 100).to_integral_value(rounding=ROUND_HALF_UP))
        return int(converted) if converted == converted.to_integral_value() else float(converted)

    # ---- link
    def _link(self, value: Any, ctx: MappingContext, *, to_remote: bool) -> Any:
        if value is None:
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise MappingError(self.local.text, words(N_("%(value)s is not a record id"), value=repr(str(value)[:40])))
        entity = self.config["entity"]
        found = ctx.linked(entity, "remote" if to_remote else "local", str(value))
        if found is None and to_remote:
            raise MappingError(self.local.text, words(N_("the %(entity)s %(id)s is not synced yet (no link)"),
                                                     entity=entity_type_words(entity), id=str(value)[:40]))
        return _MISSING if found is None else found

    # ---- directions
    @property
    def import_only(self) -> bool:
        """``transformConfig.direction: "import"``: a value only the provider sets (a file's size,
        its link): read into the local record, never written to the provider."""
        return isinstance(self.config, dict) and self.config.get("direction") == "import"

    def apply_to_remote(self, local: dict, ctx: MappingContext, out: dict) -> None:
        if self.import_only:
            return
        value = self.local.get(local)
        if _empty(value) and self.default is not _MISSING:
            self.remote.set(out, self.default)
            return
        if value is _MISSING:
            return
        if self.transform == "date_format":
            self._date_to_remote(value, ctx, out)
            return
        if self.transform == "currency_convert":
            value = self._convert(value, ctx, source=local, partial=out, to_remote=True)
        elif self.transform == "custom":
            value = self._custom(value, to_remote=True)
        elif self.transform == "link":
            value = self._link(value, ctx, to_remote=True)
        self.remote.set(out, value)

    def apply_to_local(self, remote: dict, ctx: MappingContext, out: dict) -> None:
        if self.transform == "date_format":
            value = self._date_to_local(remote, ctx)
        else:
            value = self.remote.get(remote)
        if _empty(value) and self.default is not _MISSING:
            self.local.set(out, self.default)
            return
        if value is _MISSING:
            return
        if self.transform == "currency_convert":
            value = self._convert(value, ctx, source=remote, partial=out, to_remote=False)
        elif self.transform == "custom":
            value = self._custom(value, to_remote=False)
        elif self.transform == "link":
            value = self._link(value, ctx, to_remote=False)
            if value is _MISSING:
                return
        self.local.set(out, value)

    def _custom(self, value: Any, *, to_remote: bool) -> Any:
        fn = CUSTOM_REGISTRY[self.config["name"]]
        params = self.config.get("params", {})
        try:
            return (fn.to_remote if to_remote else fn.to_local)(value, params)
        except CustomError as exc:
            raise MappingError(self.local.text, exc.words or str(exc)) from None


def _currency_code(cfg: dict, key: str, field_key: str, record: dict) -> str | None:
    if cfg.get(field_key):
        found = Path.parse(cfg[field_key]).get(record)
        if isinstance(found, str) and re.fullmatch(r"[A-Za-z]{3}", found):
            return found.upper()
    return cfg.get(key)


def _record_date(path: str | None, record: dict, ctx: MappingContext) -> date | None:
    if not path:
        return None
    value = Path.parse(path).get(record)
    if value is _MISSING or value is None:
        return None
    try:
        instant = _parse_instant(value, _zone(ctx.tz), path)
    except MappingError:
        return None
    return instant.astimezone(_zone(ctx.tz)).date() if isinstance(instant, datetime) else instant


# ------------------------------------------------------------------ validation and compiling
def _currency_errors(cfg: Any) -> list[str]:
    if not isinstance(cfg, dict):
        return [_("currency_convert needs a transformConfig object {\"from\", \"to\"}")]
    allowed = {"from", "to", "fromField", "toField", "dateField", "decimals", "remoteAs"}
    problems = [unknown_config_key(k) for k in sorted(set(cfg) - allowed)]
    for code, path in (("from", "fromField"), ("to", "toField")):
        if code in cfg and not (isinstance(cfg[code], str) and re.fullmatch(r"[A-Z]{3}", cfg[code])):
            problems.append(_("transformConfig.%(key)s must be an ISO 4217 code such as 'ILS'") % {"key": code})
        if code not in cfg and path not in cfg:
            problems.append(_("transformConfig needs %(code)s or %(path)s") % {"code": repr(code), "path": repr(path)})
    for path in ("fromField", "toField", "dateField"):
        if path in cfg:
            try:
                Path.parse(cfg[path])
            except MappingConfigError as exc:
                problems.append(f"transformConfig.{path}: {exc}")
    decimals = cfg.get("decimals", 2)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 8:
        problems.append(_("transformConfig.decimals must be a whole number from 0 to 8"))
    if cfg.get("remoteAs", "number") not in ("number", "string", "minor"):
        problems.append(_("transformConfig.remoteAs must be number, string or minor"))
    return problems


def _date_errors(cfg: Any) -> list[str]:
    if cfg is None:
        return []
    if not isinstance(cfg, dict):
        return [_("date_format's transformConfig must be an object")]
    problems = [unknown_config_key(k) for k in sorted(set(cfg) - {"format", "timeZone", "local"})]
    if cfg.get("format", "iso") not in DATE_FORMATS:
        problems.append(_("transformConfig.format must be one of %(choices)s") % {"choices": ", ".join(DATE_FORMATS)})
    if cfg.get("local", "datetime") not in ("datetime", "date"):
        problems.append(_("transformConfig.local must be datetime or date"))
    if "timeZone" in cfg:
        try:
            _zone(cfg["timeZone"])
        except MappingConfigError as exc:
            problems.append(f"transformConfig.timeZone: {exc}")
    return problems


def mapping_errors(item: dict[str, Any]) -> list[str]:
    """Problems with one IntegrationFieldMapping's paths, transform and transformConfig."""
    problems = []
    for key in ("localField", "remoteField"):
        try:
            Path.parse(item.get(key))
        except MappingConfigError as exc:
            problems.append(f"{key}: {exc}")
    transform = item.get("transform") or "none"
    cfg = item.get("transformConfig")
    if transform not in TRANSFORMS:
        problems.append(transform_choices_error())
    elif transform == "date_format":
        problems += _date_errors(cfg)
    elif transform == "currency_convert":
        problems += _currency_errors(cfg)
    elif transform == "custom":
        problems += custom_errors(cfg)
    elif transform == "link":
        problems += _link_errors(cfg)
    if isinstance(cfg, dict) and cfg.get("direction", "import") != "import":
        problems.append(_('transformConfig.direction may only be "import" (a value the provider alone sets)'))
    return problems


def transform_choices_error() -> str:
    return _("transform must be one of %(choices)s") % {"choices": ", ".join(TRANSFORMS)}


def unknown_config_key(key: str) -> str:
    return _("transformConfig: unknown key %(key)s") % {"key": repr(key)}


def _link_errors(cfg: Any) -> list[str]:
    from integrations.providers.base import LOCAL_ENTITY_TYPES

    if not isinstance(cfg, dict) or set(cfg) != {"entity"} or cfg["entity"] not in LOCAL_ENTITY_TYPES:
        return [_("link needs transformConfig {\"entity\": one of %(choices)s}") % {"choices": ", ".join(LOCAL_ENTITY_TYPES)}]
    return []


def filter_errors(item: dict[str, Any]) -> list[str]:
    problems = []
    try:
        Path.parse(item.get("field"))
    except MappingConfigError as exc:
        problems.append(f"field: {exc}")
    op = item.get("operator")
    if op not in FILTER_OPERATORS:
        problems.append(_("operator must be one of %(choices)s") % {"choices": ", ".join(FILTER_OPERATORS)})
    elif op == "in_list" and not isinstance(item.get("value"), list):
        problems.append(_("in_list needs a list value"))
    return problems


@dataclass(frozen=True)
class Mapping:
    rules: tuple[Rule, ...]

    @property
    def import_only(self) -> frozenset[str]:
        """Local fields only the provider sets (``transformConfig.direction: "import"``): a local
        value never counts as a local change of them."""
        return frozenset(rule.local.text for rule in self.rules if rule.import_only)

    def to_remote(self, local: dict, ctx: MappingContext) -> dict:
        out: dict[str, Any] = {}
        for rule in self.rules:
            _guarded(rule, rule.apply_to_remote, local, ctx, out)
        return out

    def to_local(self, remote: dict, ctx: MappingContext) -> dict:
        out: dict[str, Any] = {}
        for rule in self.rules:
            _guarded(rule, rule.apply_to_local, remote, ctx, out)
        return out


def _guarded(rule: Rule, apply, record: dict, ctx: MappingContext, out: dict) -> None:
    """A value no transform can take (an amount past Decimal's precision, a date beyond year
    9999 once shifted) fails that record with its field named, never the run."""
    try:
        apply(record, ctx, out)
    except MappingError:
        raise
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise MappingError(rule.local.text, words(N_("%(transform)s cannot convert this value (%(error)s)"),
                                                  transform=rule.transform, error=type(exc).__name__)) from None


def compile_mappings(raw: list[dict[str, Any]] | None, *, local_type: str, defaults: list[dict[str, Any]]) -> Mapping:
    """The rules for ``local_type``: the integration's own, or ``defaults`` when it has none for it.
    Raises MappingConfigError naming the first bad item."""
    own = [m for m in (raw or []) if m.get("localEntity") == local_type]
    chosen = own or [m for m in defaults if m.get("localEntity", local_type) == local_type]
    rules = []
    for i, item in enumerate(chosen):
        problems = mapping_errors(item)
        if problems:
            raise MappingConfigError(f"fieldMappings[{i}]: {'; '.join(problems)}")
        rules.append(Rule(
            local=Path.parse(item["localField"]), remote=Path.parse(item["remoteField"]),
            transform=item.get("transform") or "none", config=item.get("transformConfig"),
            default=item.get("defaultValue", _MISSING),
        ))
    # Currency codes read from a mapped field must exist before the amount is converted.
    rules.sort(key=lambda r: r.transform == "currency_convert")
    return Mapping(tuple(rules))


# ------------------------------------------------------------------ filters
@dataclass(frozen=True)
class Condition:
    path: Path
    operator: str
    value: Any

    def holds(self, record: dict) -> bool:
        found = self.path.get(record)
        if found is _MISSING:
            return self.operator == "not_equals"
        many = any(sub == "[]" for _, sub in self.path.steps)
        items = found if many and isinstance(found, list) else [found]
        if self.operator == "not_equals":
            return all(item != self.value for item in items)
        return any(self._one(item) for item in items)

    def _one(self, item: Any) -> bool:
        if self.operator == "equals":
            return item == self.value
        if self.operator == "in_list":
            return item in self.value
        if isinstance(item, str) and isinstance(self.value, str):
            return self.value.casefold() in item.casefold()
        if isinstance(item, list):
            return self.value in item
        return False


@dataclass(frozen=True)
class Filters:
    conditions: tuple[Condition, ...]

    def matches(self, record: dict) -> bool:
        return all(c.holds(record) for c in self.conditions)


def compile_filters(raw: list[dict[str, Any]] | None) -> Filters:
    conditions = []
    for i, item in enumerate(raw or []):
        problems = filter_errors(item)
        if problems:
            raise MappingConfigError(f"filters[{i}]: {'; '.join(problems)}")
        conditions.append(Condition(Path.parse(item["field"]), item["operator"], item.get("value")))
    return Filters(tuple(conditions))
