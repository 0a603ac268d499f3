"""Header filters on credential-like headers, judged when the request arrives.

The stored copy of a request's headers is redacted (``outbound.redact_headers``),
so a filter on ``Authorization``, an API key or a token header could never match
it at processing time. :func:`arrival_verdict` judges those filters on the raw
headers before the row is stored and keeps only the verdict (matched + reason,
no values) as the row's initial ``result``; :func:`filters_after_verdict` lets
processing use it, and processing keeps it in the final result so a
reprocessed request is judged the same way. Other filters are checked at
processing time as before (``actions.filters_match``).
"""

from __future__ import annotations

from typing import Any

from core import outbound
from webhooks.incoming.actions import filters_match
from webhooks.incoming.said import said
from webhooks.models import IncomingWebhook, WebhookLog

#: Key of the arrival verdict in ``WebhookLog.result``.
HEADER_VERDICT = "headerFilter"


def arrival_verdict(webhook: IncomingWebhook, headers: dict[str, str]) -> dict[str, Any] | None:
    """Header filters on credential-like headers, judged on the raw request headers.

    The stored copy of those headers is redacted, so processing could never match
    them; the verdict (matched and reason, no values) is stored as the row's initial
    ``result`` instead and used - and kept - by :func:`incoming_process`. ``None``
    when the webhook filters on no such header.
    """
    sensitive = _sensitive_header_filters(webhook.opened_filters())
    if not sensitive:
        return None
    matched, reason = filters_match({"headers": sensitive}, headers=headers, payload=None)
    return {HEADER_VERDICT: {"matched": matched, **said("reason", reason)}}  # + reasonWords: said later


def _sensitive_header_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    headers = (filters or {}).get("headers") or {}
    return {name: value for name, value in headers.items() if outbound.is_sensitive_header(name)}


def filters_after_verdict(filters: dict[str, Any] | None, log: WebhookLog) -> tuple[dict | None, dict | None]:
    """(filters left to check at processing, the arrival verdict that replaces the rest).

    Filters on credential-like headers were judged on arrival (:func:`arrival_verdict`);
    without a verdict (a filter added after the request arrived) they are checked
    against the stored, redacted copy and do not match.
    """
    verdict = log.result.get(HEADER_VERDICT) if isinstance(log.result, dict) else None
    sensitive = _sensitive_header_filters(filters)
    if not sensitive or not isinstance(verdict, dict):
        return filters, None
    rest = {name: value for name, value in (filters.get("headers") or {}).items() if name not in sensitive}
    remaining = {**filters, "headers": rest} if rest else {k: v for k, v in filters.items() if k != "headers"}
    return remaining, verdict
