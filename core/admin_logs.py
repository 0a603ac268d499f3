"""Admin lists of log tables that stay fast at tens of millions of rows (issue 12 item 9).

* :class:`CappedCountPaginator` shows the planner's estimate for large lists and
  counts at most 10,001 rows for small ones (a full ``COUNT(*)`` over
  ``webhook_logs`` takes seconds); with ``show_full_result_count = False`` the
  changelist runs no other count.
* :class:`IndexedUUIDSearch` searches indexed UUID columns only: the term must be a
  UUID, and the list is filtered on the first of ``uuid_search_fields`` that has it
  (one index probe each), so the filtered list is again one walk of an index in the
  list's order. A ``LIKE``/``UPPER()`` search over the table (Django's default for
  ``search_fields``) would read every row.
"""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class CappedCountPaginator(Paginator):
    """The admin's count of a log list without counting millions of rows.

    On PostgreSQL the planner's estimate of the filtered list comes first (an
    ``EXPLAIN``, no rows read): above :attr:`CAP` it is the count shown (an estimate,
    as large lists need no exact figure); below it, the rows are counted, at most
    ``CAP + 1`` of them. A filter no index leads with (``status`` across tenants)
    would otherwise count its matches by reading the table. Elsewhere: the capped count.
    """

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        estimate = self._estimate()
        if estimate is not None and estimate > self.CAP:
            return estimate
        return self.object_list[: self.CAP + 1].count()

    def _estimate(self) -> int | None:
        if self.object_list.query.is_empty():  # .none(): nothing to plan, nothing to count
            return 0
        if connections[self.object_list.db].vendor != "postgresql":
            return None
        try:
            plan = json.loads(self.object_list.order_by().explain(format="json"))
            return int(plan[0]["Plan"]["Plan Rows"])
        except (ValueError, KeyError, IndexError, TypeError):
            return None


class IndexedUUIDSearch:
    """ModelAdmin mixin: search by an exact UUID in ``uuid_search_fields`` (each one indexed)."""

    uuid_search_fields: tuple[str, ...] = ()
    search_help_text = _("An exact id (UUID): the row's id, or its webhook, delivery or integration id.")

    def get_search_fields(self, request):
        return list(self.uuid_search_fields)  # shows the search box; the lookup is get_search_results

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            value = uuid.UUID(term)
        except ValueError:
            self.message_user(request, _("Search takes an exact id (UUID)."), messages.WARNING)
            return queryset.none(), False
        for field in self.uuid_search_fields:
            found = queryset.filter(**{field: value})
            if found.exists():
                return found, False
        return queryset.none(), False


class PlainActionCheckbox:
    """ModelAdmin mixin: the action checkbox of each row in one ``format_html``.

    Django renders it as a ``CheckboxInput`` through the form renderer's templates, a
    template render per row: with the row's label, about a third of a 50-row log page's
    rendering. The markup is the widget's, byte for byte (tests/core/test_admin_log_queries.py
    compares them): type, name, value, then the attributes in Django's order.
    """

    def action_checkbox(self, obj):
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, str(obj.pk), label)
