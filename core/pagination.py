"""Pages of log lists that stay fast at tens of millions of rows (issue 12 item 9).

``webhook_logs`` and ``integration_logs`` grow with traffic (14 / 30 days of
retention). A page-number list pays ``COUNT(*)`` over every matching row and an
``OFFSET`` that walks every skipped row; both grow with the table. Log lists
page with :class:`LogPagination` instead:

* **keyset (cursor) pages** — ``next`` / ``previous`` are links with an opaque
  ``?cursor=``: the position of the page's last (first) row in the list's
  order, so a page is one index range scan whatever its depth;
* **a capped count** — ``count`` is exact up to :data:`COUNT_CAP` (10,000);
  above it ``count`` is 10,000 and ``countCapped`` is ``true``;
* **``?page=N`` still works** for the pages inside the capped count (offset
  pages, as before); past them the answer is 404 — follow ``next`` instead.

The response keeps the shape of every list (DESIGN §4 C5): ``{"count", "next",
"previous", "results"}``, plus ``countCapped``. The order is given by the view
as descending keys, the last one unique (the primary key), and every list
filter has an index whose columns end with the first key (see the logs' model
``Meta.indexes``), so the planner walks that index and stops after one page.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.drf import Pagination

#: ``count`` is exact up to this many rows, and this number (with ``countCapped``) above it.
COUNT_CAP = 10_000


def _keyset(keys: tuple[str, ...], values: list[Any], *, after: bool) -> Q:
    """Rows past ``values`` in descending ``keys`` order (``after``) or before them.

    ``(k1, k2, k3) < (v1, v2, v3)`` spelt out so both backends run it, with the
    redundant ``k1 <= v1`` first: that one bounds the index range scan.
    """
    op, op_eq = ("lt", "lte") if after else ("gt", "gte")
    chain = Q()
    for i, key in enumerate(keys):
        chain |= Q(**dict(zip(keys[:i], values[:i], strict=True)), **{f"{key}__{op}": values[i]})
    return Q(**{f"{keys[0]}__{op_eq}": values[0]}) & chain


class LogPagination(Pagination):
    """Keyset pages with a capped count; ``keys`` are the list's descending order, last one unique."""

    cursor_query_param = "cursor"

    def __init__(self, keys: tuple[str, ...] = ("id",)):
        self.keys = keys

    # --- cursor encoding: opaque to clients, validated on the way in -------------------
    def _encode(self, row, direction: str) -> str:
        values = []
        for key in self.keys:
            value = getattr(row, key)
            values.append(value.isoformat() if hasattr(value, "isoformat") else value if isinstance(value, int) else str(value))
        raw = json.dumps({"d": direction, "k": values}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, model, token: str) -> tuple[str, list[Any]]:
        invalid = exceptions.ValidationError({"cursor": ["invalid cursor: use the next or previous link as given"]})
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            direction, raw = data["d"], data["k"]
            if direction not in ("n", "p") or not isinstance(raw, list) or len(raw) != len(self.keys):
                raise invalid
            values = []
            for key, value in zip(self.keys, raw, strict=True):
                if not isinstance(value, str | int) or isinstance(value, bool):
                    raise invalid
                parsed = model._meta.get_field(key).to_python(value)
                if parsed is None:
                    raise invalid
                values.append(parsed)
        except (ValueError, TypeError, KeyError, binascii.Error, DjangoValidationError):
            raise invalid from None
        return direction, values

    def _link(self, request, **params) -> str:
        url = request.build_absolute_uri()
        url = remove_query_param(url, self.page_query_param)
        url = remove_query_param(url, self.cursor_query_param)
        for name, value in params.items():
            url = replace_query_param(url, name, value)
        return url

    # --- the page ------------------------------------------------------------------------
    def paginate(self, queryset: QuerySet, request) -> list:
        """The page's rows; sets ``count``, ``count_capped``, ``next`` and ``previous``."""
        size = self.get_page_size(request)
        desc = [f"-{k}" for k in self.keys]
        self.request = request
        capped = queryset.order_by()[: COUNT_CAP + 1].count()
        self.count_capped = capped > COUNT_CAP
        self.count = min(capped, COUNT_CAP)
        self.next = self.previous = None
        token = request.query_params.get(self.cursor_query_param)
        if token:
            direction, values = self._decode(queryset.model, token)
            if direction == "n":
                rows = list(queryset.filter(_keyset(self.keys, values, after=True)).order_by(*desc)[: size + 1])
                more, rows = len(rows) > size, rows[:size]
                if rows:
                    self.previous = self._link(request, cursor=self._encode(rows[0], "p"))
                    if more:
                        self.next = self._link(request, cursor=self._encode(rows[-1], "n"))
            else:
                rows = list(queryset.filter(_keyset(self.keys, values, after=False)).order_by(*self.keys)[: size + 1])
                more, rows = len(rows) > size, rows[:size][::-1]
                if rows:
                    self.next = self._link(request, cursor=self._encode(rows[-1], "n"))
                    if more:
                        self.previous = self._link(request, cursor=self._encode(rows[0], "p"))
            return rows
        number = self.get_page_number(request, None)
        offset = (number - 1) * size
        if number > 1 and offset >= self.count:
            raise exceptions.NotFound(
                f"Page {number} is past the last page"
                + (f" (page numbers reach the first {COUNT_CAP} results; follow `next` links beyond)."
                   if self.count_capped else ".")
            )
        rows = list(queryset.order_by(*desc)[offset: offset + size + 1])
        more, rows = len(rows) > size, rows[:size]
        if more:
            self.next = self._link(request, cursor=self._encode(rows[-1], "n"))
        if number > 1:
            self.previous = self._link(request) if number == 2 else self._link(request, page=number - 1)
        return rows

    def get_paginated_response(self, data) -> Response:
        return Response({"count": self.count, "countCapped": self.count_capped, "next": self.next,
                         "previous": self.previous, "results": data})

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "Opaque position from a `next` / `previous` link (keyset page; any depth, constant cost).",
             "schema": {"type": "string"}},
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": f"Page number (1-based) within the first {COUNT_CAP} results; past the last page is 404"
                            " (beyond the cap, follow `next`).",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Results per page (default {self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "countCapped", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123,
                          "description": f"Matching rows, exact up to {COUNT_CAP}; {COUNT_CAP} when there are more"
                                         " (then `countCapped` is true)."},
                "countCapped": {"type": "boolean",
                                "description": f"True when more than {COUNT_CAP} rows match and `count` is the cap."},
                "next": {"type": "string", "nullable": True, "format": "uri",
                         "description": "Next (older) page: a `?cursor=` link; null on the last page."},
                "previous": {"type": "string", "nullable": True, "format": "uri",
                             "description": "Previous (newer) page; null on the first page."},
                "results": schema,
            },
        }
