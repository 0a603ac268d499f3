"""Words said now and read later, in the reader's language.

A sync run's per-record errors are written by a worker (no request, no reader) and read
later on a page or through the API, by someone whose language the worker cannot know. So
such a message is kept as what it *means*: its msgid (English, marked with
``gettext_noop`` where it is written, translated in the app's catalog) and its params
(``{"msgid": ..., "params": {...}, "context"?: ...}``, plain JSON, storable in a log row).

- :func:`english` renders it in English: the text the log keeps beside it (``error``), the
  same whoever reads it, so machines and existing readers see what they always saw.
- :func:`say` renders it in the active language (the request's): what a page shows.

A param may itself be words (a wrapper's ``%(error)s`` around a record's own error), or a
name kept in each language (:func:`names`: a provider's catalog name, which is no msgid); any
other param is data (a provider's own words, a value, a date) and is shown as it is.

Stored JSON is read back untrusted: a shape that is not words, or a msgid whose
placeholders the params do not fill, renders as ``None`` / the English text, never raises.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.utils import translation


class Words(TypedDict, total=False):
    msgid: str
    params: dict[str, Any]
    context: str


#: A bound on nesting read back from storage (a wrapper around a wrapper is two).
MAX_DEPTH = 4


def words(msgid: str, *, context: str | None = None, **params: Any) -> Words:
    """A message to keep: ``msgid`` marked for translation where it is written (``gettext_noop``,
    or ``pgettext_lazy``'s msgid with its ``context``); ``params`` JSON values or words."""
    said: Words = {"msgid": str(msgid), "params": params}
    if context:
        said["context"] = context
    return said


def names(**by_language: str) -> dict[str, dict[str, str]]:
    """A param that is a name in each language (``names(en="Google Calendar", he="יומן גוגל")``):
    said in the reader's language (the active language's base code, else English)."""
    return {"names": {code: str(name) for code, name in by_language.items()}}


def _is_names(value: Any) -> bool:
    found = value.get("names") if isinstance(value, dict) and len(value) == 1 else None
    return isinstance(found, dict) and bool(found) and all(isinstance(v, str) for v in found.values())


def _name(value: dict[str, dict[str, str]], translate: bool) -> str:
    found = value["names"]
    code = (translation.get_language() or "en").split("-")[0].lower() if translate else "en"
    return found.get(code) or found.get("en") or next(iter(found.values()))


def is_words(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("msgid"), str)
            and isinstance(value.get("params", {}), dict) and isinstance(value.get("context", ""), str))


def _render(value: Words, translate: bool, depth: int) -> str:
    params = {key: (_render(v, translate, depth + 1) if depth < MAX_DEPTH and is_words(v)
                    else _name(v, translate) if _is_names(v) else _plain(v))
              for key, v in (value.get("params") or {}).items()}
    msgid = value["msgid"]
    text = msgid
    if translate:
        context = value.get("context")
        text = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
    try:
        return text % params if params or "%(" in text else text
    except (KeyError, ValueError, TypeError):
        return msgid if not translate else _render(value, False, depth)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def english(value: Words) -> str:
    """The words in English (the msgid filled), whatever language is active."""
    if not is_words(value):
        return ""
    try:
        return _render(value, False, 0)
    except (KeyError, ValueError, TypeError):  # a param that does not fit: the msgid itself
        return value["msgid"]


def say(value: Any) -> str | None:
    """The words in the active language; None when ``value`` is not words (older rows, the
    provider's own text): the caller shows what it kept instead."""
    if not is_words(value):
        return None
    return _render(value, True, 0)


def words_of(exc: BaseException) -> Words | None:
    """The words an exception carries (``exc.words``), if it says itself that way."""
    found = getattr(exc, "words", None)
    return found if is_words(found) else None


class SaidError(Exception):
    """An exception whose message may be words: ``str()`` is the English text, ``words``
    the message to keep, ``in_words()`` the text in the active language. A plain string
    message is kept as it is (``words`` None)."""

    def __init__(self, message: str | Words = "", *args: Any) -> None:
        self.words: Words | None = message if is_words(message) else None
        super().__init__(english(message) if self.words is not None else message, *args)

    def in_words(self) -> str:
        return say(self.words) or str(self)
