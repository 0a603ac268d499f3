"""A host name that resolves to loopback, through the resolver seam of ``core.outbound``: how the
tests stand for a tenant-entered URL whose name points inside the hub's network."""

from __future__ import annotations

import pytest

from core import outbound

#: A name that resolves (through the resolver seam of core.outbound) to loopback.
INTERNAL_HOST = "hooks.internal.example"


@pytest.fixture
def internal_dns(monkeypatch):
    real = outbound.resolve_host

    def resolve(host, port, **kwargs):
        return ["127.0.0.1"] if host.rstrip(".").lower() == INTERNAL_HOST else real(host, port, **kwargs)

    monkeypatch.setattr(outbound, "resolve_host", resolve)
