"""A received request's outcome on a page (the test panel, a log's detail), in the reader's language.

The log keeps each English text with its words beside it (:mod:`webhooks.incoming.said`);
a page says the words in the active language and shows the rest of the outcome as data
(ids, codes, counts), without the English sentences it has already said.
"""

from __future__ import annotations

import json
from typing import Any

from webhooks.incoming.said import WORDS, text_of
from webhooks.models import WebhookLog
from webhooks.pages import labels

#: The texts a page says from their words (and the words themselves), left out of the data shown.
_SAID = ("error", "error" + WORDS, "reason", "reason" + WORDS)


def action_rows(actions: Any) -> list[dict[str, Any]]:
    """Each action's outcome: its name, status, error in the active language, and its other data."""
    rows = []
    for item in actions if isinstance(actions, list) else []:
        if not isinstance(item, dict):
            continue
        details = {k: v for k, v in item.items() if k not in ("type", "status", *_SAID)}
        rows.append({"type": item.get("type"), "label": labels.ACTION_LABELS.get(item.get("type"), item.get("type")),
                     "status": item.get("status"),
                     "status_label": labels.STATUS_LABELS.get(item.get("status"), item.get("status")),
                     "error": text_of(item, "error"), "details": json.dumps(details, ensure_ascii=False) if details else ""})
    return rows


def outcome_context(outcome: Any) -> dict[str, Any]:
    """A processed request's ``result`` (or the test's answer) for ``_incoming_outcome.html``."""
    outcome = outcome if isinstance(outcome, dict) else {}
    return {"actions": action_rows(outcome.get("actions")), "reason_text": text_of(outcome, "reason"),
            "filtered": bool(outcome.get("filtered"))}


def result_data(result: Any) -> Any:
    """``result`` as data for a page: without the texts the page says from their words (each
    action's error, the filter's reason, the words kept for ``error_message``)."""
    if not isinstance(result, dict):
        return result
    shown = {k: v for k, v in result.items() if k not in (*_SAID, WebhookLog.ERROR_WORDS)}
    if isinstance(result.get("actions"), list):
        shown["actions"] = [{k: v for k, v in a.items() if k not in _SAID} if isinstance(a, dict) else a
                            for a in result["actions"]]
    verdict = result.get("headerFilter")
    if isinstance(verdict, dict):
        shown["headerFilter"] = {k: v for k, v in verdict.items() if k not in _SAID}
    return shown
