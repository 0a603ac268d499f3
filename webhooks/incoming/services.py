"""Incoming webhook services (filled by the incoming-webhooks work)."""

from __future__ import annotations


def incoming_test(webhook, *, payload: dict | None = None) -> dict:
    """Sign a sample payload, run it through the real pipeline, report per action."""
    raise NotImplementedError


def incoming_reprocess(log):
    """Run a stored incoming request's actions again (admin 'reprocess')."""
    raise NotImplementedError
