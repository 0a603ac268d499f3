"""IntegrationLog rows for connection work, and the redaction every snapshot goes through.

Two layers of redaction, because a secret can hide anywhere in a request:
by *name* (credential-bearing headers, query parameters and JSON keys) and by
*value* (every secret the caller knows -- tokens, API keys, passwords -- is
replaced wherever it appears, e.g. Hashavshevet's key inside a URL path).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils import timezone

from core.outbound import redact_headers
from core.words import Words

REDACTED = "[redacted]"
#: The key a log row's response snapshot keeps its error's words under (core.words), and a
#: sync run's failed item its own.
ERROR_WORDS = "errorWords"
MAX_SNAPSHOT_BODY = 4096
_SENSITIVE_KEY = re.compile(
    r"(token|secret|password|passwd|api[_-]?key|apikey|^key$|signature|^code$|code_verifier|authorization|"
    r"^sig$|private[_-]?key|credential|^auth)",
    re.I,
)


def is_sensitive_key(name: str) -> bool:
    return bool(_SENSITIVE_KEY.search(name or ""))


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    parts = urlsplit(url)
    query = urlencode(
        [(k, REDACTED if is_sensitive_key(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="[]",
    )
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    cleaned = urlunsplit((parts.scheme, netloc, parts.path, query, ""))  # userinfo dropped
    return scrub_text(cleaned, secrets)


def redact_data(value: Any, secrets: Iterable[str] = (), _depth: int = 0) -> Any:
    secrets = tuple(secrets)
    if _depth > 8:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if is_sensitive_key(str(k)) else redact_data(v, secrets, _depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(v, secrets, _depth + 1) for v in value[:50]]
    if isinstance(value, str):
        return scrub_text(value, secrets)[:MAX_SNAPSHOT_BODY]
    return value


def safe_headers(headers: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    return {k: scrub_text(str(v), secrets) for k, v in redact_headers(dict(headers)).items()}


def log_action(
    *,
    integration,
    action: str,
    status: str,
    started_at: datetime,
    error_message: str | None = None,
    error_code: str | None = None,
    request_snapshot: dict | None = None,
    response_snapshot: dict | None = None,
    summary: dict | None = None,
    direction: str = "outgoing",
    error_words: Words | None = None,
):
    """One IntegrationLog row; call inside the integration's tenant scope. ``error_words``
    (core.words): the error's words, kept beside the English ``error_message`` in the response
    snapshot (``errorWords``), so the settings page and the logs API say it in the reader's
    language (integrations.sync.runs.run_error_text), as a sync run's error."""
    from integrations.models import IntegrationLog

    now = timezone.now()
    if error_words is not None:
        response_snapshot = {**(response_snapshot or {}), ERROR_WORDS: error_words}
    return IntegrationLog.objects.create(
        tenant_id=integration.tenant_id,
        integration=integration,
        action=action,
        direction=direction,
        status=status,
        summary=summary or {},
        error_message=(error_message or None) and error_message[:2000],
        error_code=(error_code or None) and error_code[:50],
        started_at=started_at,
        completed_at=now,
        duration_ms=max(0, int((now - started_at).total_seconds() * 1000)),
        request_snapshot=request_snapshot,
        response_snapshot=response_snapshot,
    )
