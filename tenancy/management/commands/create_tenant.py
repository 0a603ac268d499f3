"""Contract C2: `create_tenant "<name>" --email <email>` prints one JSON line."""

import json

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from tenancy.services import tenant_provision


def check_password(password: str | None) -> None:
    """A password given on the command line passes AUTH_PASSWORD_VALIDATORS (CommandError if not)."""
    if password is None:
        return
    try:
        validate_password(password)
    except ValidationError as exc:
        raise CommandError("password refused: " + " ".join(exc.messages)) from None


class Command(BaseCommand):
    help = "Create a tenant and its owner user (if missing) and print a fresh API token as JSON."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", default=None, help="also set the user's password (to sign in at /login; with --staff, the admin)")
        parser.add_argument("--staff", action="store_true", help="make the user staff + superuser (admin access)")

    def handle(self, *args, name, email, password, staff, **options):
        name = name.strip()
        if not name or len(name) > 200:
            raise CommandError("tenant name must be 1-200 characters")
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"invalid email: {email}") from exc
        check_password(password)
        result = tenant_provision(name=name, email=email, password=password, staff=staff)
        self.stdout.write(
            json.dumps(
                {
                    "tenantId": str(result.tenant.id),
                    "userId": str(result.user.id),
                    "email": result.user.email,
                    "token": result.token,
                }
            )
        )
