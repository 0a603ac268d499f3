"""The admin site: staff operate across tenants, so every admin view runs in operator scope.

Wrapping ``AdminSite.admin_view`` puts the cross-tenant grant exactly around the
admin's own views (not a path check in a middleware run on every request).
"""

from __future__ import annotations

import logging
from functools import wraps

from django.contrib import admin

from core.tenant_context import operator_scope


class HubAdminSite(admin.AdminSite):
    site_header = "Architect Studio — Integrations Hub"
    site_title = "Integrations Hub"

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
