"""python manage.py set_provider_app <provider> [--client-id ...] [--client-secret ...]
[--authorization-url ...] [--token-url ...] [--revoke-url ...] [--api-base-url ...] (DESIGN C2)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from integrations.oauth import redirect_uri
from integrations.providers.catalog import PROVIDERS
from integrations.services import provider_app_set


class Command(BaseCommand):
    help = "Configure a provider's app: OAuth client credentials and URL overrides (omitted options stay as they are)."

    def add_arguments(self, parser):
        parser.add_argument("provider", help="provider id, e.g. google_calendar")
        parser.add_argument("--client-id")
        parser.add_argument("--client-secret", help="stored encrypted; pass '' to clear")
        parser.add_argument("--authorization-url")
        parser.add_argument("--token-url")
        parser.add_argument("--revoke-url")
        parser.add_argument("--api-base-url", help="replaces the provider's API origin in every call")
        parser.add_argument("--scopes", help="space-separated scopes (default: the catalog's)")

    def handle(self, *args, **options):
        provider = options["provider"]
        if provider not in PROVIDERS:
            raise CommandError(f"unknown provider {provider!r}; one of: {', '.join(PROVIDERS)}")
        try:
            app = provider_app_set(
                provider_id=provider,
                client_id=options["client_id"],
                client_secret=options["client_secret"],
                authorization_url=options["authorization_url"],
                token_url=options["token_url"],
                revoke_url=options["revoke_url"],
                api_base_url=options["api_base_url"],
                scopes=options["scopes"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stdout.write(json.dumps({
            "provider": app.provider,
            "clientId": app.client_id,
            "clientSecretSet": app.has_secret("client_secret_encrypted"),
            "authorizationUrl": app.authorization_url or None,
            "tokenUrl": app.token_url or None,
            "revokeUrl": app.revoke_url or None,
            "apiBaseUrl": app.api_base_url or None,
            "redirectUri": redirect_uri(app.provider),
        }))
