"""Resolving the caller's tenant (the single place the RLS context is set for API requests)
and the role rule: owner and admin change integrations and webhooks, a member reads them (C11)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
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


MANAGERS_ONLY = _("Only the studio's owners and admins may change integrations and webhooks; members can view them.")


class CanManageIntegrations(IsTenantMember):
    """Every member reads; only owner/admin change (any unsafe method).

    For the integrations and webhooks views. A view may name actions that use an
    unsafe method without changing anything (``member_actions``, e.g. a template
    preview); ConnectView uses :class:`IsTenantManager` since its GET starts a flow.
    """

    def has_permission(self, request, view) -> bool:
        super().has_permission(request, view)
        if request.method in permissions.SAFE_METHODS or getattr(view, "action", None) in getattr(
            view, "member_actions", ()
        ):
            return True
        return _require_manager(request)


class IsTenantManager(IsTenantMember):
    """Owner/admin for every method: for endpoints whose GET also changes something."""

    def has_permission(self, request, view) -> bool:
        super().has_permission(request, view)
        return _require_manager(request)


def _require_manager(request) -> bool:
    if not request.membership.can_manage:
        raise exceptions.PermissionDenied(MANAGERS_ONLY)
    return True
