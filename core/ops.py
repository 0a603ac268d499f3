"""The operators' view of the hub: the admin dashboard's sections and actions, and /metrics.

core imports no app (the import-linter layers), so each app registers what it knows
in its ``AppConfig.ready`` — its dashboard sections, its actions and its metric
families — and core shows them: the dashboard (core.admin_site) and the Prometheus
endpoint (core.metrics). Sections and metric families are computed from the database
on request, inside the operator scope (the operator alias: cross-tenant reads), with
bounded queries only: each count is capped (:func:`capped_count`), each list limited,
each time range walks an index.

An action runs one service of the app (the same the API calls, no second copy of its
rules), after the admin checks the user's Django permission named by the action.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: A count shown or exported never reads more than this many rows; above it the
#: figure is the cap (the dashboard shows "10000+").
COUNT_CAP = 10_000


class ActionRefused(Exception):
    """The action could not run (not found, not configured, busy): the message says why."""


@dataclass(frozen=True)
class Figure:
    label: Any
    value: int
    url: str | None = None
    alert: bool = False  # shown highlighted when the value is not zero

    @property
    def capped(self) -> bool:
        return self.value >= COUNT_CAP


@dataclass(frozen=True)
class Row:
    cells: list[Any]
    actions: list[tuple[str, str]] = field(default_factory=list)  # (action name, object id)
    url: str | None = None  # the object's admin page (first cell links there)


@dataclass(frozen=True)
class Section:
    key: str
    title: Any
    figures: list[Figure] = field(default_factory=list)
    columns: list[Any] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    empty: Any = ""
    order: int = 50


@dataclass(frozen=True)
class Action:
    name: str
    label: Any
    permission: str  # "app_label.codename", checked with user.has_perm
    run: Callable[[str], Any]  # object id -> message; raises ActionRefused


_sections: list[Callable[[datetime], Iterable[Section]]] = []
_metrics: list[Callable[[datetime, int], Iterable[Any]]] = []
_actions: dict[str, Action] = {}


def register(*, sections: Callable | None = None, metrics: Callable | None = None,
             actions: Iterable[Action] = ()) -> None:
    """Called from an app's ``ready``: ``sections(now)`` yields Sections, ``metrics(now,
    window_seconds)`` yields prometheus_client metric families."""
    if sections is not None and sections not in _sections:
        _sections.append(sections)
    if metrics is not None and metrics not in _metrics:
        _metrics.append(metrics)
    for action in actions:
        _actions[action.name] = action


def dashboard_sections(now: datetime) -> list[Section]:
    found = [section for producer in _sections for section in producer(now)]
    return sorted(found, key=lambda s: s.order)


def metric_families(now: datetime, window_seconds: int) -> list[Any]:
    """Every app's families; families of one name from several apps are merged."""
    merged: dict[str, Any] = {}
    for producer in _metrics:
        for family in producer(now, window_seconds):
            if family.name in merged:
                merged[family.name].samples.extend(family.samples)
            else:
                merged[family.name] = family
    return list(merged.values())


def action(name: str) -> Action | None:
    return _actions.get(name)


def capped_count(queryset, cap: int = COUNT_CAP) -> int:
    """COUNT over at most ``cap`` rows (a ``LIMIT`` subquery): bounded on any table size."""
    return queryset.order_by()[:cap].count()


def quantiles(values: list[float], points: Iterable[float] = (0.5, 0.95, 0.99)) -> dict[str, float]:
    """Nearest-rank quantiles of ``values`` (empty → {})."""
    if not values:
        return {}
    ordered = sorted(values)
    out = {}
    for q in points:
        index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        out[str(q)] = ordered[index]
    return out
