"""Choosing the tenant a caller acts in — one rule for the API, WebSockets and pages."""

from __future__ import annotations

import uuid

from core.tenant_context import set_db_tenant, set_db_user
from tenancy.models import Membership, User


class TenantChoiceError(Exception):
    """Why no tenant could be chosen: kind is invalid | not_member | none | ambiguous."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def membership_choose(
    *,
    user: User,
    wanted: str | None = None,
    default_tenant_id: uuid.UUID | None = None,
    first_if_many: bool = False,
) -> Membership:
    """The caller's membership, and the transaction's RLS context set to its tenant.

    ``wanted`` (X-Tenant-ID, ``?tenant=``) must be a tenant the user belongs to; else
    the token's default tenant; else the user's only tenant (or the oldest one when
    ``first_if_many``, as the browser pages do). Must run inside a transaction.
    """
    set_db_user(user.pk)  # lets the lookup below pass RLS (member_self policy)
    memberships = Membership.objects.select_related("tenant").filter(user=user, tenant__is_active=True)
    membership: Membership | None = None
    if wanted:
        try:
            tenant_id = uuid.UUID(wanted.strip())
        except ValueError:
            raise TenantChoiceError("invalid", "must be a tenant UUID") from None
        membership = memberships.filter(tenant_id=tenant_id).first()
        if membership is None:
            raise TenantChoiceError("not_member", "You are not a member of that tenant.")
    elif default_tenant_id:
        membership = memberships.filter(tenant_id=default_tenant_id).first()
    if membership is None:
        found = list(memberships.order_by("created_at")[:2])
        if not found:
            raise TenantChoiceError("none", "You are not a member of any tenant.")
        if len(found) > 1 and not first_if_many:
            raise TenantChoiceError(
                "ambiguous", "You belong to several tenants: choose one with the X-Tenant-ID header."
            )
        membership = found[0]
    set_db_tenant(membership.tenant_id)
    return membership
