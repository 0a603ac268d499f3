"""What an incoming request's log says, kept as words beside its English (issue 14 item 6).

A request is processed by a worker (no reader) and read later on a page or through the
API, in the reader's language. Each English text the log keeps stays as it was (the
API's contract); beside it, its words (core.words), under the same key + ``Words``:

- an action's outcome: ``error`` and ``errorWords``;
- a filtered request's result: ``reason`` and ``reasonWords`` (the arrival verdict's too);
- the row's ``error_message``: ``result.errorWords`` (``WebhookLog.ERROR_WORDS``, read by
  ``WebhookLog.error_text``);
- the test's signature check: ``verification.reason`` and ``verification.reasonWords``.

:func:`with_texts` adds the ``…Text`` of each (in the active language) to an outcome or a
stored result, for the API; :func:`text_of` is one of them, for a page.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop as N_

from core.words import Words, english, is_words, say, words

#: The key suffix of the words kept beside an English text (``error`` → ``errorWords``).
WORDS = "Words"
#: The ``…Text`` beside them in the API (``error`` → ``errorText``).
TEXT = "Text"
#: The context of an action type's name (the msgid is the type itself, English keeps the code).
ACTION_CONTEXT = "incoming action"

# The action types, said by their name (msgids in the project's catalog, context ACTION_CONTEXT).
_ACTION_NAMES = (N_("create_entity"), N_("update_entity"), N_("trigger_automation"), N_("forward"))


def failed(error: Words | str, **extra: Any) -> dict[str, Any]:
    """A failed action's outcome: ``error`` the English text, ``errorWords`` its words (when it is words)."""
    outcome: dict[str, Any] = {"status": "failed", **said("error", error), **extra}
    return outcome


def said(key: str, value: Words | str | None) -> dict[str, Any]:
    """``{key: English text, key + "Words": words}`` (only the text when ``value`` is not words)."""
    if is_words(value):
        return {key: english(value), key + WORDS: value}
    return {key: value}


def words_of(entry: Any, key: str) -> Words | str | None:
    """The words kept beside ``entry[key]`` while they still say it, else the text as it is."""
    if not isinstance(entry, dict):
        return None
    text, kept = entry.get(key), entry.get(key + WORDS)
    if isinstance(text, str) and text and is_words(kept) and english(kept)[:len(text)] == text:
        return kept
    return text


def text_of(entry: Any, key: str) -> str | None:
    """``entry[key]`` in the active language: its words while they still say the stored text,
    else the text as stored (a receiver's status, a validation message, older rows)."""
    found = words_of(entry, key)
    if is_words(found):
        return say(found)
    return found if found is None or isinstance(found, str) else str(found)


def action_words(action_type: Any) -> Words | str:
    """An action type said by its name (English: the code itself, as the log always wrote it)."""
    return words(action_type, context=ACTION_CONTEXT) if action_type in _ACTION_NAMES else str(action_type)


def failures_words(outcomes: list[dict[str, Any]]) -> Words | None:
    """The log's ``error_message`` as words: ``<type>: <error>`` per failed action, ``; `` between
    (its English is the text the log always kept); None when no action failed."""
    parts = [words(N_("%(action)s: %(error)s"), action=action_words(o.get("type")), error=_error_of(o))
             for o in outcomes if o.get("status") == "failed"]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    # No catalog entry: the separators as they are, each part said in the reader's language.
    return words("; ".join(f"%(e{i})s" for i in range(len(parts))), **{f"e{i}": p for i, p in enumerate(parts)})


def _error_of(outcome: dict[str, Any]) -> Words | str:
    if "error" not in outcome:
        return "failed"
    found = words_of(outcome, "error")
    return found if is_words(found) or isinstance(found, str) else str(found)


def _texts(entry: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = dict(entry)
    for key in keys:
        if entry.get(key) is not None and key + WORDS in entry:
            out[key + TEXT] = text_of(entry, key)
    return out


def with_texts(outcome: Any) -> Any:
    """``outcome`` (a test's or a reprocess's answer, or a request's stored ``result``) with the
    ``…Text`` of every English text that has words beside it, in the active language: the
    top's ``errorText`` and ``reasonText``, each action's ``errorText``, the arrival verdict's and
    the signature check's ``reasonText``. Nothing else changes."""
    if not isinstance(outcome, dict):
        return outcome
    out = _texts(outcome, ("error", "reason"))
    if isinstance(outcome.get("actions"), list):
        out["actions"] = [_texts(a, ("error",)) if isinstance(a, dict) else a for a in outcome["actions"]]
    for key in ("verification", "headerFilter"):
        if isinstance(outcome.get(key), dict):
            out[key] = _texts(outcome[key], ("reason",))
    return out
