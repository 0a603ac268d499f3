"""Tenant context for PostgreSQL row-level security.

Every tenant table has RLS enabled *and forced* with one policy,
``tenant_isolation`` — ``tenant_id = current_setting('app.current_tenant_id', true)``:
rows of the tenant whose id the current *transaction* has set. Unset → no rows
(fail closed). The setting is set with ``set_config(…, true)``: transaction-local,
so a pooled connection never carries one request's tenant into the next.

The one cross-tenant path is :func:`operator_scope` (the admin, beat sweepers and
fan-outs): its block runs on the ``operator`` database alias, a role with
BYPASSRLS that the runtime role cannot become — no setting a query could flip
opens other tenants' rows. Every use is logged with its reason (auditable).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

from django.db import connections, transaction

log = logging.getLogger("architect_studio.tenancy")

TENANT_SETTING = "app.current_tenant_id"
USER_SETTING = "app.current_user_id"
OPERATOR_ALIAS = "operator"

_current_tenant: ContextVar[uuid.UUID | None] = ContextVar("current_tenant", default=None)
_operator_alias: ContextVar[str | None] = ContextVar("operator_alias", default=None)


class TenantContextError(RuntimeError):
    pass


def current_tenant_id() -> uuid.UUID | None:
    return _current_tenant.get()


def _set_config(name: str, value: str, using: str = "default") -> str | None:
    """Set a transaction-local setting; returns its previous value (for nested scopes)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None  # SQLite (embedded mode): scoping in code only.
    if not connection.in_atomic_block:
        raise TenantContextError(
            f"{name} must be set inside a transaction (it is transaction-local by design)"
        )
    with connection.cursor() as cursor:
        # The scalar subquery runs as an InitPlan, i.e. before set_config.
        cursor.execute("SELECT (SELECT current_setting(%s, true)), set_config(%s, %s, true)", [name, name, value])
        return cursor.fetchone()[0]


def set_db_tenant(tenant_id: uuid.UUID | str, using: str = "default") -> None:
    """Scope the current transaction to one tenant (and remember it in this context)."""
    tid = uuid.UUID(str(tenant_id))
    _set_config(TENANT_SETTING, str(tid), using)
    _current_tenant.set(tid)


def remember_db_tenant(tenant_id: uuid.UUID | str, using: str = "default") -> None:
    """For SQL that sets the tenant itself (a function calling set_config): check and remember it."""
    if not connections[using].in_atomic_block:
        raise TenantContextError("the tenant setting is transaction-local: call this inside a transaction")
    _current_tenant.set(uuid.UUID(str(tenant_id)))


_SCOPED_INSERTS: dict[tuple, tuple[str, str, list]] = {}


def scoped_insert_parts(model, names, connection) -> tuple[str, str, list]:
    """``("INSERT INTO t (a, b)", "%s::uuid, %s::jsonb", fields)`` for :func:`insert_scoped` and
    statements built like it; cached per (model, columns)."""
    key = (model, tuple(names))
    cached = _SCOPED_INSERTS.get(key)
    if cached is None:
        meta = model._meta
        fields = [meta.get_field(name) for name in names]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        # Cast to the base type without its modifier: "::varchar(10)" would truncate
        # silently, while the assignment to the column still refuses what is too long.
        casts = ", ".join(f"%s::{f.db_type(connection).split('(')[0]}" for f in fields)
        cached = _SCOPED_INSERTS[key] = (f"INSERT INTO {quote(meta.db_table)} ({columns})", casts, fields)
    return cached


def scoped_insert_params(fields, values: dict, connection) -> list:
    """The values of a :func:`scoped_insert_parts` statement, prepared by their fields as the ORM would."""
    return [f.get_db_prep_save(v, connection) for f, v in zip(fields, values.values(), strict=True)]


def insert_scoped(model, tenant_id: uuid.UUID | str, values: dict, using: str = "default") -> None:
    """INSERT one row of ``model`` as ``tenant_id`` in a single statement, transaction or not.

    For the hottest write of the hub (the public webhook endpoint): instead of
    BEGIN, set the tenant, INSERT, COMMIT — four round trips, and the ORM's
    insert compiler on every call — the statement sets the tenant for itself::

        INSERT INTO t (a, b) SELECT %s::uuid, %s::jsonb FROM (SELECT set_config(…, %s, true)) AS s

    The row is formed from that one-row subquery, so ``set_config`` has run
    before the row exists and forced RLS checks it (``WITH CHECK``) against
    the tenant just set; outside a transaction the setting ends with the
    statement (inside one it stays, for the rest of it). Columns left out
    take their database defaults. On other databases (embedded SQLite: no
    RLS) it is a plain ORM insert.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        model._base_manager.using(using).create(**values)
        return
    head, casts, fields = scoped_insert_parts(model, values, connection)
    params = [*scoped_insert_params(fields, values, connection), str(uuid.UUID(str(tenant_id)))]
    with connection.cursor() as cursor:
        cursor.execute(f"{head} SELECT {casts} FROM (SELECT set_config('{TENANT_SETTING}', %s, true)) AS tenant_scope",
                       params)


def set_db_user(user_id: uuid.UUID | str, using: str = "default") -> None:
    """Lets a user read their own memberships before a tenant is chosen."""
    _set_config(USER_SETTING, str(uuid.UUID(str(user_id))), using)


@contextlib.contextmanager
def tenant_scope(tenant_id: uuid.UUID | str, using: str = "default") -> Iterator[uuid.UUID]:
    """Run a block in a transaction scoped to one tenant (tasks, consumers, commands)."""
    tid = uuid.UUID(str(tenant_id))
    token = _current_tenant.set(tid)
    try:
        nested = connections[using].in_atomic_block
        with transaction.atomic(using=using):
            previous = _set_config(TENANT_SETTING, str(tid), using)
            yield tid
            if nested:  # hand the enclosing transaction its tenant back (else COMMIT clears it)
                _set_config(TENANT_SETTING, previous or "", using)
    finally:
        _current_tenant.reset(token)


def operator_alias() -> str:
    """The alias cross-tenant work uses: ``operator``, or ``default`` where there is
    no such role (the embedded SQLite mode has no RLS)."""
    from django.conf import settings

    return OPERATOR_ALIAS if OPERATOR_ALIAS in settings.DATABASES else "default"


def active_operator_alias() -> str | None:
    """The alias of the enclosing :func:`operator_scope`, else None (core.db.RoleRouter)."""
    return _operator_alias.get()


@contextlib.contextmanager
def operator_scope(reason: str, *, audit_level: int = logging.DEBUG) -> Iterator[str]:
    """The explicit cross-tenant path. Keep its callers few; each says why.

    The block runs in a transaction on the operator alias, and the ORM is routed
    there (core.db.RoleRouter) until it ends. It is a separate connection: rows the
    enclosing runtime-role transaction has not committed yet are not visible to it,
    and what it writes commits when the block ends. Raw SQL uses
    ``connections[alias]`` with the alias this yields. A runtime-role transaction
    wraps the block too, so ``transaction.on_commit`` callbacks registered inside
    it (wake-ups, realtime) run after the operator's commit, as before.

    Every use is logged with its reason: at DEBUG for the machinery (sweepers run
    every second), at ``audit_level`` INFO for what a person does (the admin).
    """
    log.log(audit_level, "operator scope: %s", reason)
    alias = operator_alias()
    token = _operator_alias.set(alias)
    try:
        with contextlib.ExitStack() as stack:
            if alias != "default":
                stack.enter_context(transaction.atomic(using="default"))
            stack.enter_context(transaction.atomic(using=alias))
            yield alias
    finally:
        _operator_alias.reset(token)
