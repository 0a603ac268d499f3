from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from core.tenant_context import tenant_scope
from entities.models import Meeting
from tenancy.models import Tenant, User
from tenancy.services import tenant_provision


@dataclass
class Persona:
    tenant: Tenant
    user: User
    token: str


def make_persona(tenant_name: str, email: str) -> Persona:
    result = tenant_provision(name=tenant_name, email=email)
    return Persona(result.tenant, result.user, result.token)


def make_meeting(tenant: Tenant, title: str = "Kickoff", **extra) -> Meeting:
    start = timezone.now() + timedelta(days=1)
    with tenant_scope(tenant.id):
        return Meeting.objects.create(
            tenant=tenant, title=title, start_time=start, end_time=start + timedelta(hours=1), **extra
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


def wait_until(predicate, timeout: float, step: float = 0.2, what: str = "condition"):
    """Poll ``predicate()`` until it returns something truthy (returned); after ``timeout``
    seconds fail loudly, naming ``what`` was awaited -- never fall through silently.
    (Same signature as tests/faults/conftest.wait_until.)"""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)
