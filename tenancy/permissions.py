"""Resolving the caller's tenant: the single place the RLS context is set for API requests."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from tenancy.models import ApiToken, Membership
from tenancy.selectors import TenantChoiceError, membership_choose

TENANT_HEADER = "HTTP_X_TENANT_ID"


def resolve_membership(request) -> Membership:
    auth = request.auth
    try:
        return membership_choose(
            user=request.user,
            wanted=request.META.get(TENANT_HEADER),
            default_tenant_id=auth.default_tenant_id if isinstance(auth, ApiToken) else None,
        )
    except TenantChoiceError as exc:
        if exc.kind == "invalid":
            raise exceptions.ValidationError({"X-Tenant-ID": [exc.message]}) from None
        raise exceptions.PermissionDenied(exc.message) from None


class IsTenantMember(permissions.BasePermission):
    """Authenticated, member of the chosen tenant; sets request.tenant and the RLS context."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if getattr(request, "tenant", None) is None:
            membership = resolve_membership(request)  # also sets the RLS context
            request.tenant = membership.tenant
            request.membership = membership
        return True
