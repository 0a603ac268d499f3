"""Who an API caller is and which tenant they act in — one rule for the API, WebSockets and pages."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import connection, connections, router

from core.tenant_context import TenantContextError, remember_db_tenant, set_db_tenant, set_db_user
from tenancy.models import ApiToken, Membership, Tenant, User


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
    if wanted:
        try:
            wanted_id: uuid.UUID | None = uuid.UUID(wanted.strip())
        except ValueError:
            raise TenantChoiceError("invalid", "must be a tenant UUID") from None
    else:
        wanted_id = None
    candidates, scoped = _membership_candidates(user=user, wanted=wanted_id, default_tenant_id=default_tenant_id)
    membership = (candidates.get("wanted" if wanted_id else "default") or [None])[0]
    if wanted_id and membership is None:
        raise TenantChoiceError("not_member", "You are not a member of that tenant.")
    if membership is None:
        found = candidates.get("oldest") or []
        if not found:
            raise TenantChoiceError("none", "You are not a member of any tenant.")
        if len(found) > 1 and not first_if_many:
            raise TenantChoiceError(
                "ambiguous", "You belong to several tenants: choose one with the X-Tenant-ID header."
            )
        membership = found[0]
    if scoped is not None and scoped == membership.tenant_id:
        remember_db_tenant(scoped)  # the candidates' read set it already
    else:
        set_db_tenant(membership.tenant_id)
    return membership


_MEMBERSHIP_FIELDS = ["id", "tenant_id", "user_id", "role", "created_at"]
_TENANT_FIELDS = ["id", "name", "slug", "is_active", "created_at"]


def _membership_candidates(
    *, user: User, wanted: uuid.UUID | None, default_tenant_id: uuid.UUID | None
) -> tuple[dict[str, list[Membership]], uuid.UUID | None]:
    """The user's active memberships the choice is made among, by kind — ``wanted`` (in
    ``wanted``); else ``default`` (in ``default_tenant_id``); else ``oldest`` (the two
    oldest) — and the tenant the transaction is already scoped to, if any.

    On PostgreSQL one round trip (migration tenancy 0006: the function sets the user,
    whose member_self policy lets them read their own memberships, reads them, and
    scopes the transaction to a ``wanted`` or ``default`` one, which is always the
    one chosen); this runs on every API request, and the ORM queries it replaces
    cost more to compile than to run. Elsewhere (embedded SQLite: no RLS) the ORM.
    """
    if connection.vendor != "postgresql":
        set_db_user(user.pk)
        memberships = Membership.objects.select_related("tenant").filter(user=user, tenant__is_active=True)
        if wanted:
            return {"wanted": list(memberships.filter(tenant_id=wanted)[:1])}, None
        if default_tenant_id:
            found = list(memberships.filter(tenant_id=default_tenant_id)[:1])
            if found:
                return {"default": found}, None
        return {"oldest": list(memberships.order_by("created_at")[:2])}, None
    if not connection.in_atomic_block:
        raise TenantContextError("the user setting is transaction-local: choose a membership inside a transaction")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM hub_membership_candidates(%s, %s, %s)", [user.pk, wanted, default_tenant_id])
        rows = cursor.fetchall()
    out: dict[str, list[Membership]] = {}
    scoped = None
    for kind, *values in rows:
        membership = Membership.from_db(connection.alias, _MEMBERSHIP_FIELDS, values[:5])
        Membership.tenant.field.set_cached_value(membership, Tenant.from_db(connection.alias, _TENANT_FIELDS, values[5:]))
        out.setdefault(kind, []).append(membership)
        if kind != "oldest":
            scoped = membership.tenant_id
    return out, scoped


_TOKEN_COLUMNS = [f.column for f in ApiToken._meta.concrete_fields]
_USER_COLUMNS = [f.column for f in User._meta.concrete_fields]
_TOKEN_SQL = (
    "SELECT " + ", ".join([f'k."{c}"' for c in _TOKEN_COLUMNS] + [f'u."{c}"' for c in _USER_COLUMNS])
    + f' FROM "{ApiToken._meta.db_table}" k JOIN "{User._meta.db_table}" u ON u."id" = k."user_id"'
    ' WHERE k."token_hash" = %s AND k."revoked_at" IS NULL AND (k."expires_at" IS NULL OR k."expires_at" > %s)'
)


def api_token_active(*, token_hash: str, now: datetime) -> ApiToken | None:
    """The unrevoked, unexpired API token with this hash, its ``user`` loaded; else None.

    ``ApiToken.objects.active().select_related("user").filter(token_hash=…).first()``
    as one statement written once: this runs on every API request, and compiling
    that query cost more than running it. On PostgreSQL the columns come back as
    the fields want them; elsewhere (embedded SQLite) the ORM reads them.
    """
    alias = router.db_for_read(ApiToken)
    if connections[alias].vendor != "postgresql":
        return ApiToken.objects.active().select_related("user").filter(token_hash=token_hash).first()
    with connections[alias].cursor() as cursor:
        cursor.execute(_TOKEN_SQL, [token_hash, now])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_TOKEN_COLUMNS)
    token = ApiToken.from_db(alias, [f.attname for f in ApiToken._meta.concrete_fields], row[:split])
    user = User.from_db(alias, [f.attname for f in User._meta.concrete_fields], row[split:])
    ApiToken.user.field.set_cached_value(token, user)
    return token
