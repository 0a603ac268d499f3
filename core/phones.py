"""Phone numbers in one shape (E.164), for matching an inbound message's sender to a client
and for addressing messages. Pure functions: entities (the client's indexed ``phone_e164``
column) and integrations (the messaging providers) both use them, so they live below both.
"""

from __future__ import annotations

import re

#: The country a national number (leading 0) belongs to when nothing else says: Israel first.
#: A messaging integration may name another (``settings.defaultCountryCode``) for what it sends;
#: the client column is normalised with this one.
DEFAULT_COUNTRY_CODE = "972"
_SEPARATORS = re.compile(r"[\s\-().]")
_E164 = re.compile(r"\+\d{7,15}")


def normalize_phone(value: str, country_code: str = "") -> str:
    """E.164 with ``+``: spaces, dashes and brackets dropped; a national number (leading 0)
    gets ``country_code`` ("972": 050-1234567 -> +972501234567). "" when not a phone number."""
    raw = (value or "").strip()
    if raw.startswith("whatsapp:"):
        raw = raw[len("whatsapp:"):]
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("0") and country_code:
        digits = f"+{country_code}{digits[1:]}"
    if not digits.startswith("+") and digits.isdigit() and len(digits) >= 8:
        digits = "+" + digits
    return digits if _E164.fullmatch(digits) else ""


def e164_digits(value: str, country_code: str = DEFAULT_COUNTRY_CODE) -> str:
    """The E.164 number without its ``+`` (the client's indexed match key); "" when not a phone."""
    return normalize_phone(value, country_code)[1:]
