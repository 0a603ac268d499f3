"""Tenants as personas, meetings, and running a call from many threads at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from core.tenant_context import tenant_scope
from entities.models import Meeting
from entities.services import entity_create
from tenancy.models import ApiToken, Tenant, User
from tenancy.services import membership_add, tenant_provision


@dataclass
class Persona:
    tenant: Tenant
    user: User
    token: str


def make_persona(tenant_name: str, email: str) -> Persona:
    result = tenant_provision(name=tenant_name, email=email)
    return Persona(result.tenant, result.user, result.token)


def client_for(persona: Persona, tenant_id=None) -> APIClient:
    """An API client with the persona's bearer token (and X-Tenant-Id when given)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {persona.token}")
    if tenant_id:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {persona.token}", HTTP_X_TENANT_ID=str(tenant_id))
    return client


def persona_in(tenant_of: Persona, email: str, role: str) -> Persona:
    """A new user with ``role`` in ``tenant_of``'s tenant, and a token for it."""
    user = User.objects.create(username=email, email=email)
    membership_add(tenant_id=tenant_of.tenant.id, user=user, role=role)
    _, raw = ApiToken.issue(user=user, tenant=tenant_of.tenant)
    return Persona(tenant_of.tenant, user, raw)


def fresh_persona(prefix: str = "Alice Studio") -> Persona:
    """A fresh tenant per test: transactional tests do not flush between tests, so names must not collide."""
    tag = uuid.uuid4().hex[:8]
    return make_persona(f"{prefix} {tag}", f"{prefix.split()[0].lower()}-{tag}@example.com")


def make_meeting(tenant: Tenant, title: str = "Kickoff", **extra) -> Meeting:
    start = timezone.now() + timedelta(days=1)
    with tenant_scope(tenant.id):
        return Meeting.objects.create(
            tenant=tenant, title=title, start_time=start, end_time=start + timedelta(hours=1), **extra
        )


def create_meeting(persona: Persona, title: str = "Site visit"):
    """A meeting made through the entity service (so it emits its entity event), unlike
    :func:`make_meeting`, which writes the row directly."""
    start = timezone.now() + timedelta(days=2)
    with tenant_scope(persona.tenant.id):
        return entity_create(
            tenant=persona.tenant,
            entity_type="meeting",
            data={"title": title, "start_time": start.isoformat(), "end_time": (start + timedelta(hours=1)).isoformat()},
        )


def run_at_once(fn, copies: int, timeout: float = 60) -> list:
    """Call ``fn()`` from ``copies`` threads released together; returns the results.

    Each thread closes its database connections when done. An exception in any
    thread fails the caller (re-raised), so races cannot hide errors.
    """
    import threading

    from django.db import connections

    barrier = threading.Barrier(copies)
    results: list = []
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(timeout)
            results.append(fn())
        except BaseException as exc:  # re-raised below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    return results
