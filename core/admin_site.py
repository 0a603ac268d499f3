"""The admin site: staff operate across tenants, so every admin view runs in operator scope.

Wrapping ``AdminSite.admin_view`` puts the cross-tenant grant exactly around the
admin's own views (not a path check in a middleware run on every request).

The site adds the operators' dashboard (``/admin/dashboard``, linked from the index):
the sections the apps register in core.ops, and one POST endpoint running their
actions after checking the user's Django permission for each.
"""

from __future__ import annotations

import logging
import uuid
from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import pgettext, pgettext_lazy
from django.views.decorators.http import require_POST

from core import ops
from core.tenant_context import operator_scope


class HubAdminSite(admin.AdminSite):
    site_header = pgettext_lazy("ops", "Architect Studio — Integrations Hub")
    site_title = pgettext_lazy("ops", "Integrations Hub")
    index_title = pgettext_lazy("ops", "Site administration")
    index_template = "admin/hub_index.html"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def in_operator_scope(request, *args, **kwargs):
            user = request.user
            if user.is_active and user.is_staff:
                with operator_scope(f"admin {request.method} {request.path} by {user.pk}", audit_level=logging.INFO):
                    return inner(request, *args, **kwargs)
            return inner(request, *args, **kwargs)  # redirects to the login page

        return in_operator_scope

    def get_urls(self):
        return [
            path("dashboard", self.admin_view(self.dashboard_view), name="dashboard"),
            path("dashboard/action", self.admin_view(require_POST(self.dashboard_action)), name="dashboard_action"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request):
        """Integrations in error, failing webhooks, backlogs, last runs (staff only: admin_view)."""
        sections = ops.dashboard_sections(timezone.now())
        allowed = {name for name in {a for s in sections for r in s.rows for a, _pk in r.actions}
                   if (action := ops.action(name)) and request.user.has_perm(action.permission)}
        return TemplateResponse(request, "admin/dashboard.html", {
            **self.each_context(request),
            "title": pgettext("ops", "Operations dashboard"),
            "sections": sections,
            "allowed_actions": allowed,
            "action_labels": {name: ops.action(name).label for name in allowed},
            "cap": ops.COUNT_CAP,
        })

    def dashboard_action(self, request):
        """Run one action on one object, if the user holds its permission; back to the dashboard."""
        action = ops.action(request.POST.get("action", ""))
        if action is None:
            return HttpResponseBadRequest(pgettext("ops", "Unknown action."))
        try:
            pk = str(uuid.UUID(request.POST.get("id", "")))
        except ValueError:
            return HttpResponseBadRequest(pgettext("ops", "The id must be a UUID."))
        if not request.user.has_perm(action.permission):
            raise PermissionDenied(pgettext("ops", "You may not run this action."))
        try:
            message = action.run(pk)
        except ops.ActionRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, str(message))
        return HttpResponseRedirect(reverse(f"{self.name}:dashboard"))


def translate_boolean_icons() -> None:
    """The admin's yes/no icons are named by their ``alt`` text, which Django writes as the Python
    value ("True", "False", "None") in every language: a screen reader on a Hebrew page would read
    English. Every caller imports ``admin_list._boolean_icon`` when it runs, so replacing it here
    names the icons with Django's own translated "Yes" / "No" / "Unknown"."""
    from django.contrib.admin.templatetags import admin_list
    from django.templatetags.static import static
    from django.utils.html import format_html
    from django.utils.translation import gettext

    def _boolean_icon(field_val):
        icon, name = {True: ("yes", "Yes"), False: ("no", "No"), None: ("unknown", "Unknown")}[field_val]
        return format_html('<img src="{}" alt="{}">', static(f"admin/img/icon-{icon}.svg"), gettext(name))

    admin_list._boolean_icon = _boolean_icon
