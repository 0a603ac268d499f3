"""What an incoming request's body may be: JSON or a form, parsed strictly, and JSON made storable.

Shared by :mod:`receive` (the endpoint parses and stores bodies) and
:mod:`forward` (a forward's response body is stored the same way).
"""

from __future__ import annotations

import json
import math
from typing import Any

from webhooks.verification import parse_form_body

_JSON_TYPES = ("application/json",)
_FORM_TYPE = "application/x-www-form-urlencoded"


def _media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("non-finite number")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _clean_text(value: str) -> str:
    # PostgreSQL JSONB refuses NUL and unpaired surrogates: replace them (U+FFFD).
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")


def clean_json(value: Any) -> Any:
    """A copy of ``value`` that PostgreSQL's JSONB accepts."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


class BodyError(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def parse_body(body: bytes, content_type: str) -> tuple[Any, str]:
    """Parsed body (JSON value or form dict) and its kind; raises BodyError (400/415)."""
    media = _media_type(content_type)
    if not body and not media:
        return None, "empty"
    if media in _JSON_TYPES or media.endswith("+json"):
        if not body:
            return None, "empty"
        try:
            value = json.loads(body, parse_float=_parse_float, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BodyError(400, "invalid", "The body is not valid JSON.") from None
        return (clean_json(value) if b"\\u" in body else value), "json"
    if media == _FORM_TYPE:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError(400, "invalid", "The form body is not valid UTF-8.") from None
        form = parse_form_body(body)
        return (clean_json(form) if b"%" in body else form), "form"
    raise BodyError(415, "unsupported_media_type", "Send application/json or application/x-www-form-urlencoded.")
