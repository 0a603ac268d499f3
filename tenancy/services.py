from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from core.tenant_context import tenant_scope
from tenancy.models import ApiToken, Membership, Tenant, User


@dataclass(frozen=True)
class ProvisionResult:
    tenant: Tenant
    user: User
    token: str
    created_tenant: bool
    created_user: bool


def _unique_slug(name: str) -> str:
    base = slugify(name, allow_unicode=False) or "studio"
    base = re.sub(r"-+", "-", base)[:80]
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _user_for_email(email: str, *, password: str | None = None, staff: bool = False) -> User:
    """The user with this email (case-insensitive), created if missing; ``password`` / ``staff`` applied."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email, email=email, is_staff=staff, is_superuser=staff)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    elif password:
        user.set_password(password)
        if staff:
            user.is_staff = user.is_superuser = True
        user.save()
    return user


@transaction.atomic
def tenant_provision(*, name: str, email: str, password: str | None = None, staff: bool = False) -> ProvisionResult:
    """Create the tenant (by name) and its owner user (by email) if missing; always a fresh token."""
    email = User.objects.normalize_email(email).lower()
    tenant = Tenant.objects.filter(name=name).order_by("created_at").first()
    created_tenant = tenant is None
    if tenant is None:
        tenant = Tenant.objects.create(name=name, slug=_unique_slug(name))
    created_user = not User.objects.filter(email__iexact=email).exists()
    user = _user_for_email(email, password=password, staff=staff)
    with tenant_scope(tenant.id):
        Membership.objects.get_or_create(
            tenant=tenant, user=user, defaults={"role": Membership.Role.OWNER}
        )
    _, raw = ApiToken.issue(user=user, tenant=tenant, name="create_tenant")
    return ProvisionResult(tenant, user, raw, created_tenant, created_user)


@dataclass(frozen=True)
class MemberResult:
    membership: Membership
    token: str


@transaction.atomic
def member_provision(*, tenant: Tenant, email: str, role: str, password: str | None = None) -> MemberResult:
    """Add the user (by email, created if missing) to the tenant with ``role``, or set the role
    of an existing membership; always a fresh API token whose default tenant is this one.
    ``password`` (when given) becomes the user's password for /login."""
    if role not in Membership.Role.values:
        raise ValueError(f"role must be one of {', '.join(Membership.Role.values)}")
    user = _user_for_email(User.objects.normalize_email(email).lower(), password=password)
    with tenant_scope(tenant.id):
        membership, created = Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
    _, raw = ApiToken.issue(user=user, tenant=tenant, name="add_member")
    return MemberResult(membership, raw)


def membership_add(*, tenant_id: uuid.UUID, user: User, role: str = Membership.Role.MEMBER) -> Membership:
    with tenant_scope(tenant_id):
        membership, _ = Membership.objects.get_or_create(tenant_id=tenant_id, user=user, defaults={"role": role})
        return membership
