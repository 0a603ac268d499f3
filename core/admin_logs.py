"""Admin lists of log tables that stay fast at tens of millions of rows (issue 12 item 9).

* :class:`CappedCountPaginator` counts at most 10,001 rows (a full ``COUNT(*)`` over
  ``webhook_logs`` takes seconds); with ``show_full_result_count = False`` the
  changelist runs no other count.
* :class:`IndexedUUIDSearch` searches indexed UUID columns only: the term must be a
  UUID, and the list is filtered on the first of ``uuid_search_fields`` that has it
  (one index probe each), so the filtered list is again one walk of an index in the
  list's order. A ``LIKE``/``UPPER()`` search over the table (Django's default for
  ``search_fields``) would read every row.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class CappedCountPaginator(Paginator):
    """Counts at most 10,001 rows: log tables grow large and a full COUNT(*) is slow."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()


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
