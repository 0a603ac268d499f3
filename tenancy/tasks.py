"""Housekeeping of the user-level tables (no tenant, no RLS): expired sessions and
API tokens that can no longer be used."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tenancy.models import ApiToken


@shared_task(ignore_result=True)
def cleanup_sessions_and_tokens() -> dict[str, int]:
    """Expired sessions (what `clearsessions` does) and tokens revoked or expired
    more than API_TOKEN_RETENTION_DAYS ago (default 30; kept that long so an
    operator can still see which token was used)."""
    from django.contrib.sessions.models import Session

    now = timezone.now()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if store.__module__ == "django.contrib.sessions.backends.db":
        sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    else:  # other engines purge themselves (or through their own clear_expired)
        store.clear_expired()
        sessions = 0
    cutoff = now - timedelta(days=settings.API_TOKEN_RETENTION_DAYS)
    tokens, _ = ApiToken.objects.filter(Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)).delete()
    return {"sessions": sessions, "apiTokens": tokens}
