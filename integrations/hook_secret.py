"""The secret in an integration's webhook URL, for providers that sign nothing the hub can
check (Mailchimp list webhooks; monday.com webhooks made without an app signing secret;
Priority BPM webhooks, whose optional token is a static value too).

The provider is given ``/api/integrations/hooks/<id>?secret=<value>``; a call without the
value (or, where the provider sends a static token header, without it there) is refused
before anything is read. The value is not stored: it is an HMAC of the integration's id under
the deployment's ``SECRET_KEY`` (``django.utils.crypto.salted_hmac``), so there is no row to
leak and no column to encrypt; ``SECRET_KEY_FALLBACKS`` keeps URLs registered before a key
rotation working until the fallback is dropped.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "integrations.hooks.url-secret"
#: Query parameter carrying the secret.
PARAM = "secret"


def url_secret(integration_id: uuid.UUID | str, *, key: str | None = None) -> str:
    return salted_hmac(_SALT, str(integration_id), secret=key, algorithm="sha256").hexdigest()[:40]


def url_secret_ok(integration_id: uuid.UUID | str, presented: str | None) -> bool:
    """Whether ``presented`` is this integration's URL secret (constant-time; fails closed)."""
    if not presented or not isinstance(presented, str) or len(presented) > 200:
        return False
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(presented, url_secret(integration_id, key=k)) for k in keys)
