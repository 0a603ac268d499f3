"""Serializer fields whose validation matches what the OpenAPI schema says of them.

A bare ``serializers.JSONField`` is documented as "any value", so a client (or
schemathesis) may rightly send ``null`` or a list where the code wants an
object; DRF's ``CharField`` accepts numbers where the schema says string; and a
datetime in the local zone before 1918 carries Jerusalem's local-mean-time
offset (``+02:20:54``), which is not RFC 3339. These fields make the schema
and the validation say the same thing.
"""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """A JSON object (free-form keys)."""

    default_error_messages = {"not_object": "must be an object"}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_object")
        return super().to_internal_value(data)


@extend_schema_field({"type": "array", "items": {}})
class JSONListField(serializers.JSONField):
    """A JSON array."""

    default_error_messages = {"not_list": "must be a list"}

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_list")
        return super().to_internal_value(data)


class _StrictText:
    """A string, and only a string: numbers and booleans are refused as the schema says."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(_StrictText, serializers.CharField):
    pass


class StrictEmailField(_StrictText, serializers.EmailField):
    pass


class StrictRegexField(_StrictText, serializers.RegexField):
    pass


#: What Django's URLValidator takes for a public http(s) URL, as a pattern the schema can state.
HTTP_URL_PATTERN = (
    r"^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,2}[A-Za-z]{2,63}(:[1-9][0-9]{0,3})?(/[!-~]*)?$"
)


@extend_schema_field({"type": "string", "maxLength": 2000, "pattern": f"^$|{HTTP_URL_PATTERN}"})
class HttpUrlField(_StrictText, serializers.URLField):
    """An http(s) URL (or blank where allowed)."""


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false``: DRF's also takes 0, 1, "yes", "on"…, which the schema does not."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictUUIDField(serializers.UUIDField):
    """A UUID string: DRF's also turns integers (and ``false``, an int) into UUIDs."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


@extend_schema_field({"anyOf": [
    {"type": "string", "format": "decimal", "pattern": r"^\d{1,12}(\.\d{1,2})?$"},
    {"type": "integer", "minimum": 0, "maximum": 999_999_999_999},
]})
class AmountField(serializers.DecimalField):
    """A non-negative amount with at most 2 decimals: a decimal string, or a whole JSON number.

    Fractional JSON numbers are refused: as binary floats they cannot carry cents exactly
    (``535.0`` is a whole number, as JSON Schema counts it).
    """

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        return super().to_internal_value(data)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", 0)
        super().__init__(**kwargs)


class RFC3339DateTimeField(serializers.DateTimeField):
    """Datetimes out in the local zone when its offset is whole minutes, else in UTC.

    Python renders a historical local-mean-time offset with seconds
    (``+02:20:54``); RFC 3339 allows only hours and minutes.
    """

    def to_representation(self, value):
        if not value or isinstance(value, str):
            return super().to_representation(value)
        try:
            local = self.enforce_timezone(value)
            offset = local.utcoffset()
        except (OverflowError, ValueError):
            local, offset = value.astimezone(dt.UTC), dt.timedelta(0)
        if offset is not None and offset.total_seconds() % 60:
            local = value.astimezone(dt.UTC)
        return local.isoformat()

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        try:
            self.enforce_timezone(parsed).utcoffset()
            parsed.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]]+HH:MM")
        return parsed
