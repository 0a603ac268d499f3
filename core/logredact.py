"""Keep credentials out of every log line, the servers' own connection lines included.

uvicorn logs each WebSocket handshake as ``"WebSocket /ws/events?token=…" [accepted]``
on ``uvicorn.error`` (``--no-access-log`` does not silence it), its access log and
daphne's print query strings too, and the OAuth callback carries ``code`` and
``state``. ``RedactSecretsFilter`` rewrites such values to ``[redacted]``; it sits on
our console handler (settings.LOGGING) and ``install()`` puts it on the servers'
loggers and handlers, whichever configured logging first (uvicorn configures it
before it imports the application, Django when it is set up).
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
_QUERY_SECRET = re.compile(
    r"(?i)(?<![\w-])(token|ticket|access_token|refresh_token|id_token|code|state|password|secret|client_secret|api_key"
    r"|apikey)=([^&\s\"'<>\]\[]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")

#: Loggers that print request lines: uvicorn, daphne and Django's own servers.
SERVER_LOGGERS = (
    "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi",
    "daphne", "daphne.server", "daphne.http_protocol", "daphne.ws_protocol",
    "django.channels.server", "django.server", "django.request",
)


def redact(text: str) -> str:
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecretsFilter(logging.Filter):
    """Rewrites the record in place (never drops it). Arguments are redacted one by
    one so formatters that unpack them (uvicorn's access formatter) keep working."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        clean = redact(message)
        if clean != message:  # a secret assembled from format and arguments
            record.msg, record.args = clean, ()
        return True


_FILTER = RedactSecretsFilter()


def _add(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactSecretsFilter) for f in target.filters):
        target.addFilter(_FILTER)


def install() -> None:
    """Idempotent: the filter on the server loggers and on every handler they or the
    root logger write to (a logger's filter does not see its children's records)."""
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS] + [logging.getLogger()]
    for logger in loggers:
        _add(logger)
        for handler in logger.handlers:
            _add(handler)
