"""Resolving the caller's tenant: the single place the RLS context is set for API requests."""

from __future__ import annotations

import uuid

from rest_framework import exceptions, permissions

from core.tenant_context import set_db_tenant, set_db_user
from tenancy.models import ApiToken, Membership

TENANT_HEADER = "HTTP_X_TENANT_ID"


def resolve_membership(request) -> Membership:
    user = request.user
    set_db_user(user.pk)  # lets the membership lookup below pass RLS (member_self policy)
    memberships = Membership.objects.select_related("tenant").filter(user=user, tenant__is_active=True)
    requested = request.META.get(TENANT_HEADER)
    if requested:
        try:
            tenant_id = uuid.UUID(requested.strip())
        except ValueError:
            raise exceptions.ValidationError({"X-Tenant-ID": ["must be a tenant UUID"]}) from None
        membership = memberships.filter(tenant_id=tenant_id).first()
        if membership is None:
            raise exceptions.PermissionDenied("You are not a member of that tenant.")
        return membership
    auth = request.auth
    if isinstance(auth, ApiToken) and auth.default_tenant_id:
        membership = memberships.filter(tenant_id=auth.default_tenant_id).first()
        if membership is not None:
            return membership
    found = list(memberships[:2])
    if len(found) == 1:
        return found[0]
    if not found:
        raise exceptions.PermissionDenied("You are not a member of any tenant.")
    raise exceptions.PermissionDenied("You belong to several tenants: choose one with the X-Tenant-ID header.")


class IsTenantMember(permissions.BasePermission):
    """Authenticated, member of the chosen tenant; sets request.tenant and the RLS context."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if getattr(request, "tenant", None) is None:
            membership = resolve_membership(request)
            request.tenant = membership.tenant
            request.membership = membership
            set_db_tenant(membership.tenant_id)
        return True


class IsTenantAdmin(IsTenantMember):
    def has_permission(self, request, view) -> bool:
        super().has_permission(request, view)
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.membership.role in (Membership.Role.OWNER, Membership.Role.ADMIN)
