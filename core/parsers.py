"""The API's one request parser: JSON, bounded, and free of NUL and lone surrogates.

Why our own and not DRF's or djangorestframework-camel-case's: both read the
whole stream with no size limit (Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only
for ``request.body`` and form parsing, and DRF reads the request as a stream),
so the limit held or not depending on the DRF version. Here the body is read
with the limit in hand, once, whatever DRF does: over it is 413.

Strings may not hold NUL (PostgreSQL text refuses it: a 500 at save time) or a
lone surrogate (``"\\ud800"`` is valid JSON but no valid text: it cannot be
encoded to UTF-8 when stored or sent on). Both are refused here with 400, for
every field, key and nested value, so no serializer has to remember.

The API is JSON only: form and multipart bodies cannot express its nested
fields (``externalIds``, ``attendees``, ``syncSettings``), and no page posts
forms to it. The public incoming endpoint reads its own bodies (C6).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import underscoreize
from rest_framework import exceptions, parsers

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def read_bounded(stream) -> bytes:
    """The whole body, or 413 as soon as it passes DATA_UPLOAD_MAX_MEMORY_SIZE."""
    if stream is None:
        return b""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return data


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def check_text(value: Any) -> None:
    """400 for a NUL or a lone surrogate in any string, key or nested value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings = (item,)
        elif isinstance(item, dict):
            strings = tuple(k for k in item if isinstance(k, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for text in strings:
            found = _BAD_CHARACTER.search(text)
            if found:
                what = "NUL (\\u0000)" if found.group() == "\x00" else "a lone surrogate"
                raise exceptions.ParseError(f"JSON strings may not contain {what}.")


def json_loads(text: str | bytes) -> Any:
    """``json.loads`` for text a person typed or a peer sent (page forms, stored bodies): JSON
    nested deeper than Python's stack is a ``ValueError`` like any other malformed JSON
    (``json.loads`` raises ``RecursionError`` for it, which no ``except ValueError`` catches)."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


class JSONParser(parsers.BaseParser):
    """camelCase JSON in, snake_case data out (settings.JSON_CAMEL_CASE), bounded and checked."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = read_bounded(stream)
        try:
            "".encode(encoding)  # a text codec only: bz2_codec and the like would inflate the body
            text = raw.decode(encoding)
            data = json.loads(text, parse_constant=_reject_constant)
        except (LookupError, UnicodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid {encoding} text.") from exc
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        check_text(data)
        return underscoreize(data, **camel_settings.JSON_UNDERSCOREIZE)
