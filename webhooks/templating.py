"""Payload templates for outgoing webhooks (contract C7).

A template is JSON text with ``{{path}}`` placeholders. The one promise this
module makes is that **the rendered result is always valid JSON, whatever the
data** (quotes, backslashes, Hebrew, newlines, control characters, nulls,
nested objects). That promise is what lets a tenant write a payload for a
third-party receiver without us ever sending it a broken body.

Why a tokenizer and not a regex over the JSON text: a placeholder means two
different things depending on where it sits.

* A *bare* placeholder (outside any JSON string literal), e.g.
  ``{"title": {{entity.title}}}``, is replaced by the JSON encoding of the
  value (``"Villa"``, ``42``, ``null``, ``{"a":1}``). A missing path renders
  ``null``.
* A placeholder *inside* a JSON string literal, e.g.
  ``{"text": "New: {{entity.title}}"}``, is replaced by the value's text
  escaped for a JSON string: strings as-is, numbers and booleans as their
  JSON text, null/missing as the empty string, objects/lists as their compact
  JSON text.

Knowing which case applies requires knowing whether we are inside a string,
which in turn requires honouring the template's own escapes (``\\"``). So we
walk the template once, character by character, tracking that state.

Template errors (bad placeholder syntax, unclosed ``{{``, a skeleton that is
not JSON) are detected independently of the data: the template is checked
with every placeholder replaced by a neutral sample (``null`` when bare, the
empty string inside a string). A template that passes renders valid JSON for
any context, so a delivery can never fail because of the entity's content.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "MAX_PLACEHOLDERS",
    "MAX_TEMPLATE_BYTES",
    "BodyTooLarge",
    "TemplateError",
    "build_context",
    "placeholders",
    "render_template",
    "validate_template",
]

#: Templates are stored per webhook and rendered on every delivery; a hard cap
#: keeps storage and rendering cost bounded (DESIGN §5: limits on template
#: sizes). Measured in UTF-8 bytes, because that is what is stored and sent.
MAX_TEMPLATE_BYTES: Final[int] = 65536

#: Placeholders one template may hold (callers pass the operator's setting).
#: Each placeholder can expand to a whole entity, so the count, not the
#: template's size, is what multiplies the work of a render.
MAX_PLACEHOLDERS: Final[int] = 500

#: Allowed placeholder path: an identifier, then dot-separated segments that may
#: be identifiers or list indexes (``entity.attendees.0.email``).
_PATH_RE: Final[re.Pattern[str]] = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")

#: Lone UTF-16 surrogates cannot be encoded as UTF-8; they are escaped as
#: ``\\udXXX`` so the rendered text can always be sent as UTF-8 bytes.
_SURROGATE_RE: Final[re.Pattern[str]] = re.compile("[\ud800-\udfff]")

_OPEN: Final[str] = "{{"
_CLOSE: Final[str] = "}}"


class TemplateError(ValueError):
    """The template itself is invalid (never raised because of the data)."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__("; ".join(self.errors) if self.errors else "invalid template")


class BodyTooLarge(ValueError):
    """The rendered body passed the size limit; rendering stopped there (the data's fault, not the template's)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the rendered body is larger than {limit} bytes (body too large)")


class _Missing:
    """Sentinel for a path that does not resolve (distinct from a real None)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class _Text:
    """Literal template text, copied to the output unchanged."""

    text: str


@dataclass(frozen=True, slots=True)
class _Placeholder:
    """A ``{{ path }}`` occurrence; ``in_string`` decides how it is rendered."""

    path: str
    in_string: bool
    position: int


_Segment = _Text | _Placeholder


def _tokenize(template: str) -> tuple[list[_Segment], list[str]]:
    """Split a template into literal text and placeholders.

    Walks the text once, tracking whether the cursor is inside a JSON string
    literal (a ``"`` toggles it, a backslash inside a string escapes the next
    character). Returns the segments and a list of human-readable errors
    (unclosed ``{{``, a stray ``}}`` inside a string, an invalid path).

    Outside strings a ``}}`` is ordinary JSON (two objects closing), so only
    inside strings is a stray ``}}`` reported. A run of three or more ``{``
    is read as literal braces followed by a placeholder, so
    ``"{{{entity.title}}}"`` renders the title wrapped in braces.
    """
    segments: list[_Segment] = []
    errors: list[str] = []
    buf: list[str] = []
    in_string = False
    i = 0
    n = len(template)

    def flush() -> None:
        if buf:
            segments.append(_Text("".join(buf)))
            buf.clear()

    while i < n:
        if template.startswith(_OPEN, i):
            if i + 2 < n and template[i + 2] == "{":
                # Extra leading brace: keep it literal, the placeholder starts later.
                buf.append("{")
                i += 1
                continue
            end = template.find(_CLOSE, i + 2)
            if end == -1:
                errors.append(f"unclosed '{{{{' at position {i}")
                buf.append(template[i:])
                break
            raw = template[i + 2 : end]
            path = raw.strip()
            if not _PATH_RE.fullmatch(path):
                shown = raw if len(raw) <= 40 else raw[:40] + "…"
                errors.append(
                    f"invalid placeholder '{{{{{shown}}}}}' at position {i}: expected a dot path "
                    "like 'entity.title' or 'entity.attendees.0.email'"
                )
            flush()
            segments.append(_Placeholder(path=path, in_string=in_string, position=i))
            i = end + 2
            continue

        ch = template[i]
        if in_string:
            if ch == "\\":
                # Copy the escape and the escaped character together so an
                # escaped quote never ends the string.
                buf.append(template[i : i + 2])
                i += 2
                continue
            if ch == '"':
                in_string = False
            elif template.startswith(_CLOSE, i):
                errors.append(f"unmatched '}}}}' at position {i}")
                buf.append(_CLOSE)
                i += 2
                continue
        elif ch == '"':
            in_string = True
        buf.append(ch)
        i += 1

    flush()
    return segments, errors


def _json_default(value: Any) -> Any:
    """Encode the non-JSON types an entity dict is likely to carry.

    Dates become ISO 8601, decimals and UUIDs their canonical text (decimals
    as strings, like DRF, to avoid silent float rounding of money), sets and
    tuples lists, bytes UTF-8 text; anything else its ``str()`` so a render
    never fails because of an unexpected type.
    """
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _finite(value: Any) -> Any:
    """Replace NaN/Infinity (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_finite(v) for v in value]
    return value


def _dumps(value: Any, *, compact: bool) -> str:
    """json.dumps that always yields valid, UTF-8-encodable JSON text."""
    separators = (",", ":") if compact else (", ", ": ")
    try:
        text = json.dumps(
            value, ensure_ascii=False, allow_nan=False, default=_json_default, separators=separators
        )
    except ValueError:
        text = json.dumps(
            _finite(value),
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
            separators=separators,
        )
    return _SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _resolve(context: Mapping[str, Any], path: str) -> Any:
    """Follow a dot path through mappings and sequences; _MISSING if absent.

    Numeric segments index lists (``attendees.0``); on a mapping they are
    looked up as string keys. Strings are never indexed into.
    """
    current: Any = context
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part in current:
                current = current[part]
                continue
            return _MISSING
        if isinstance(current, Sequence) and not isinstance(current, str | bytes | bytearray):
            if part.isdigit():
                index = int(part)
                if index < len(current):
                    current = current[index]
                    continue
            return _MISSING
        return _MISSING
    return current


def _bare(value: Any) -> str:
    """Render a value for a placeholder outside any string: its JSON."""
    if value is _MISSING:
        return "null"
    return _dumps(value, compact=False)


def _in_string(value: Any) -> str:
    """Render a value for a placeholder inside a string: escaped text."""
    if value is _MISSING or value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = _dumps(value, compact=True)
    elif isinstance(value, Mapping | list | tuple | set | frozenset):
        text = _dumps(value, compact=True)
    else:
        text = _dumps(value, compact=True)
        # Scalars the default encoder turned into a JSON string: use the bare text.
        if text.startswith('"'):
            text = json.loads(text)
    # json.dumps of a str gives a quoted, fully escaped literal; drop the quotes.
    return _dumps(text, compact=True)[1:-1]


def _substitute(segments: Sequence[_Segment], context: Mapping[str, Any] | None, max_bytes: int | None = None) -> str:
    """Join the segments, rendering placeholders from ``context``.

    With ``context=None`` every placeholder renders as a neutral sample
    (``null`` bare, empty inside a string) — used to check the skeleton.
    With ``max_bytes``, raises :class:`BodyTooLarge` as soon as the output
    passes that many UTF-8 bytes, so a large entity repeated by many
    placeholders costs at most the limit plus one value, never the product.
    """
    out: list[str] = []
    size = 0
    for seg in segments:
        if isinstance(seg, _Text):
            piece = seg.text
        else:
            value = _MISSING if context is None else _resolve(context, seg.path)
            piece = _in_string(value) if seg.in_string else _bare(value)
        out.append(piece)
        if max_bytes is not None:
            size += len(piece.encode("utf-8", errors="surrogatepass"))
            if size > max_bytes:
                raise BodyTooLarge(max_bytes)
    return "".join(out)


def _json_error(text: str) -> str | None:
    """Return a message if ``text`` is not valid JSON, else None."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return (
            "template is not valid JSON once placeholders are replaced by sample values: "
            f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
        )
    except RecursionError:
        return "template is nested too deeply"
    return None


def validate_template(template: str, *, max_placeholders: int = MAX_PLACEHOLDERS) -> list[str]:
    """Return human-readable problems with ``template``; empty when it is usable.

    Checks, in order: type, size (``MAX_TEMPLATE_BYTES`` of UTF-8), balanced
    ``{{ }}``, placeholder path syntax, the number of placeholders (at most
    ``max_placeholders``), and that the template is valid JSON
    with every placeholder replaced by a sample value. Used at save time so a
    tenant sees the problem in the webhook builder, not in a failed delivery.
    """
    if not isinstance(template, str):
        return ["template must be a string"]
    size = len(template.encode("utf-8", errors="surrogatepass"))
    if size > MAX_TEMPLATE_BYTES:
        return [f"template is {size} bytes; the maximum is {MAX_TEMPLATE_BYTES} bytes"]
    if not template.strip():
        return ["template is empty"]
    segments, errors = _tokenize(template)
    if errors:
        return errors
    count = sum(1 for seg in segments if isinstance(seg, _Placeholder))
    if count > max_placeholders:
        return [f"template has {count} placeholders; the maximum is {max_placeholders}"]
    problem = _json_error(_substitute(segments, None))
    return [problem] if problem else []


def placeholders(template: str) -> list[str]:
    """Return the placeholder paths used in ``template``, unique, in order of first use.

    Whitespace inside the braces is stripped. Paths with invalid syntax are
    included as written (``validate_template`` reports them), so a builder UI
    can show what the author typed.
    """
    segments, _errors = _tokenize(template)
    seen: dict[str, None] = {}
    for seg in segments:
        if isinstance(seg, _Placeholder):
            seen.setdefault(seg.path, None)
    return list(seen)


def render_template(
    template: str,
    context: Mapping[str, Any],
    *,
    max_bytes: int | None = None,
    max_placeholders: int = MAX_PLACEHOLDERS,
) -> str:
    """Render ``template`` with ``context`` and return JSON text.

    Raises :class:`TemplateError` when the template is invalid (see
    ``validate_template``; a stored template over the placeholder cap is
    refused here too, before any rendering) and :class:`BodyTooLarge` as soon
    as the output passes ``max_bytes``. For a valid template the result is
    valid JSON for any context; that is asserted once more on the output, so a
    bug here can surface as a TemplateError but never as a malformed body on
    the wire.
    """
    errors = validate_template(template, max_placeholders=max_placeholders)
    if errors:
        raise TemplateError(errors)
    segments, _ = _tokenize(template)
    rendered = _substitute(segments, context, max_bytes)
    problem = _json_error(rendered)
    if problem:  # pragma: no cover - defensive; the skeleton check makes this unreachable
        raise TemplateError([f"rendered payload is not valid JSON: {problem}"])
    return rendered


def build_context(
    *,
    entity: dict[str, Any],
    entity_type: str,
    entity_id: str,
    event: str,
    tenant_id: str,
    timestamp: str,
) -> dict[str, Any]:
    """Build the render context for one outgoing event.

    The keys are the camelCase names the template language documents
    (``{{entity.title}}``, ``{{event}}``, ``{{entityType}}``, ``{{entityId}}``,
    ``{{tenantId}}``, ``{{timestamp}}``), matching the JSON API's casing, so
    what tenants read in the API is what they write in templates.
    """
    return {
        "entity": entity,
        "entityType": entity_type,
        "entityId": entity_id,
        "event": event,
        "tenantId": tenant_id,
        "timestamp": timestamp,
    }
