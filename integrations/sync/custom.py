"""Named functions for the ``custom`` transform: a fixed registry, never eval.

A mapping names one with ``transformConfig: {"name": "prefix", "params": {"value": "AS-"}}``.
Each entry has a ``to_remote`` and a ``to_local`` function (local -> provider and back; the
second undoes the first where it can, e.g. ``prefix`` adds on export and strips on import)
and a ``check`` of its params, run when the mapping is saved (PATCH answers 400 on an unknown
name or bad params), so a run never meets a bad config. Functions are pure: same value and
params, same result; ``None`` passes through untouched.

Adding one: write the two functions and the check below, add a line to ``REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from core.words import SaidError, words

MAX_TEXT_PARAM = 200
MAX_MAP_ENTRIES = 200


class CustomError(SaidError, ValueError):
    """A value the function cannot take (a per-record error, e.g. a number given to ``lower``):
    English as text, its ``words`` kept by the run's log for the reader's language."""


Fn = Callable[[Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class Custom:
    name: str
    description: str
    to_remote: Fn
    to_local: Fn
    check: Callable[[dict[str, Any]], list[str]]


# ------------------------------------------------------------------ param checks
def _no_params(params: dict[str, Any]) -> list[str]:
    return [_("takes no params (got %(params)s)") % {"params": sorted(params)}] if params else []


def _text_param(key: str, *, required: bool = True) -> Callable[[dict[str, Any]], list[str]]:
    def check(params: dict[str, Any]) -> list[str]:
        problems = [_unknown_param(k) for k in sorted(set(params) - {key})]
        if key not in params:
            return problems + ([_("params.%(key)s is required") % {"key": key}] if required else [])
        value = params[key]
        if not isinstance(value, str) or len(value) > MAX_TEXT_PARAM:
            problems.append(_("params.%(key)s must be a string of at most %(n)s characters")
                            % {"key": key, "n": MAX_TEXT_PARAM})
        return problems
    return check


def _check_map(params: dict[str, Any]) -> list[str]:
    problems = [_unknown_param(k) for k in sorted(set(params) - {"values", "default"})]
    values = params.get("values")
    if not isinstance(values, dict) or not values or len(values) > MAX_MAP_ENTRIES:
        return problems + [_("params.values must be an object of 1 to %(n)s local -> remote values")
                           % {"n": MAX_MAP_ENTRIES}]
    if not all(isinstance(v, (str, int, float, bool)) for v in values.values()):
        problems.append(_("params.values must map to strings, numbers or booleans"))
    remote = [v for v in values.values()]
    if len({repr(v) for v in remote}) != len(remote):
        problems.append(_("params.values must not map two local values to the same remote value "
                          "(import could not tell them apart)"))
    return problems


def _check_truncate(params: dict[str, Any]) -> list[str]:
    problems = [_unknown_param(k) for k in sorted(set(params) - {"length"})]
    length = params.get("length")
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 100_000:
        problems.append(_("params.length must be a whole number from 1 to 100000"))
    return problems


def _unknown_param(key: str) -> str:
    return _("unknown param %(key)s") % {"key": repr(key)}


# ------------------------------------------------------------------ functions
def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise CustomError(words(N_("%(name)s needs text, got %(type)s"), name=name, type=type(value).__name__))
    return value


def _add_prefix(value, params):
    return None if value is None else params["value"] + _text(value, "prefix")


def _strip_prefix(value, params):
    if value is None:
        return None
    text = _text(value, "prefix")
    return text[len(params["value"]):] if params["value"] and text.startswith(params["value"]) else text


def _add_suffix(value, params):
    return None if value is None else _text(value, "suffix") + params["value"]


def _strip_suffix(value, params):
    if value is None:
        return None
    text = _text(value, "suffix")
    return text[: -len(params["value"])] if params["value"] and text.endswith(params["value"]) else text


def _lower(value, params):
    return None if value is None else _text(value, "lower").lower()


def _upper(value, params):
    return None if value is None else _text(value, "upper").upper()


def _trim(value, params):
    return None if value is None else _text(value, "trim").strip()


def _truncate(value, params):
    return None if value is None else _text(value, "truncate")[: params["length"]]


def _map_forward(value, params):
    if value is None:
        return None
    key = value if isinstance(value, str) else str(value)
    if key in params["values"]:
        return params["values"][key]
    return params.get("default", value)


def _map_back(value, params):
    if value is None:
        return None
    for local, remote in params["values"].items():
        if remote == value and type(remote) is type(value):
            return local
    return params.get("default", value)


def _separator(params) -> str:
    return params.get("separator", ", ")


def _join(value, params):
    if value is None:
        return None
    if not isinstance(value, list):
        raise CustomError(words(N_("join needs a list, got %(type)s"), type=type(value).__name__))
    return _separator(params).join("" if v is None else str(v) for v in value)


def _split(value, params):
    if value is None:
        return None
    text = _text(value, "split")
    sep = _separator(params)
    parts = text.split(sep) if sep else list(text)
    return [p.strip() for p in parts if p.strip()] if text else []


REGISTRY: dict[str, Custom] = {c.name: c for c in (
    Custom("prefix", "adds params.value in front on export, strips it on import", _add_prefix, _strip_prefix,
           _text_param("value")),
    Custom("suffix", "adds params.value at the end on export, strips it on import", _add_suffix, _strip_suffix,
           _text_param("value")),
    Custom("lower", "lower-cases text (both ways)", _lower, _lower, _no_params),
    Custom("upper", "upper-cases text (both ways)", _upper, _upper, _no_params),
    Custom("trim", "removes surrounding white space (both ways)", _trim, _trim, _no_params),
    Custom("truncate", "cuts text to params.length characters (both ways)", _truncate, _truncate, _check_truncate),
    Custom("map_values", "replaces values by params.values (local -> remote) on export and back on import; "
           "others pass unchanged or become params.default", _map_forward, _map_back, _check_map),
    Custom("join", "a local list becomes one remote text joined by params.separator (default ', '); "
           "split back on import", _join, _split, _text_param("separator", required=False)),
    Custom("split", "a local text becomes a remote list split on params.separator (default ', '); "
           "joined back on import", _split, _join, _text_param("separator", required=False)),
)}


def custom_errors(config: Any) -> list[str]:
    """Problems with a ``custom`` transformConfig; [] = valid."""
    if not isinstance(config, dict):
        return [_("a custom transform needs a transformConfig object {\"name\", \"params\"?}")]
    problems = [_("transformConfig: unknown key %(key)s") % {"key": repr(k)} for k in sorted(set(config) - {"name", "params"})]
    name = config.get("name")
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        return problems + [_("transformConfig.name must be one of %(choices)s (got %(name)s)")
                           % {"choices": known, "name": repr(str(name)[:50])}]
    params = config.get("params", {})
    if not isinstance(params, dict):
        return problems + [_("transformConfig.params must be an object")]
    return problems + [f"{name}: {p}" for p in REGISTRY[name].check(params)]
