"""`make run`: a demo tenant and an admin user, printed with how to log in."""

import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from tenancy.models import User
from tenancy.services import tenant_provision

DEMO_TENANT = "Demo Studio"
DEMO_EMAIL = "admin@demo.studio"


class Command(BaseCommand):
    help = "Create the demo tenant and admin user if missing, and print how to log in."

    def handle(self, *args, **options):
        password_file = settings.BASE_DIR / "var" / "demo-admin-password"
        password = os.environ.get("DEMO_ADMIN_PASSWORD")
        if not password:
            if password_file.exists():
                password = password_file.read_text().strip()
            else:
                password = secrets.token_urlsafe(12)
                password_file.parent.mkdir(parents=True, exist_ok=True)
                password_file.write_text(password + "\n")
                password_file.chmod(0o600)
        existed = User.objects.filter(email=DEMO_EMAIL).exists()
        result = tenant_provision(name=DEMO_TENANT, email=DEMO_EMAIL, password=password, staff=True)
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "──────────── Architect Studio Integrations Hub ────────────",
                    f"  mode:      {settings.MODE.describe()}",
                    f"  tenant:    {result.tenant.name} ({result.tenant.id}){' [existing]' if existed else ''}",
                    f"  admin:     {base}/admin/   user {DEMO_EMAIL}   password {password}",
                    f"  API docs:  {base}/api/docs",
                    f"  API token: {result.token}",
                    f"  try:       curl -H 'Authorization: Bearer {result.token}' {base}/api/meetings",
                    f"  events:    {base.replace('http', 'ws', 1)}/ws/events?token={result.token}",
                    "────────────────────────────────────────────────────────────",
                    "",
                ]
            )
        )
