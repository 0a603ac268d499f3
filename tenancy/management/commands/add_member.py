"""Contract C11: `add_member <tenantId> --email <email> --role owner|admin|member [--password …]`
prints one JSON line; ``--password`` sets the user's password for /login (the studio's sign-in)."""

import json
import uuid

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from tenancy.management.commands.create_tenant import check_password
from tenancy.models import Membership, Tenant
from tenancy.services import member_provision


class Command(BaseCommand):
    help = ("Add a user (created if missing) to a tenant with a role, or change the role of a member; "
            "print a fresh API token as JSON.")

    def add_arguments(self, parser):
        parser.add_argument("tenant_id", metavar="tenantId")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Membership.Role.values)
        parser.add_argument("--password", default=None, help="also set the user's password (to sign in at /login)")

    def handle(self, *args, tenant_id, email, role, password, **options):
        try:
            tid = uuid.UUID(tenant_id.strip())
        except ValueError:
            raise CommandError(f"the tenant id must be a UUID (as create_tenant prints it), not {tenant_id[:60]!r}") from None
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"invalid email: {email[:200]}") from None
        check_password(password)
        tenant = Tenant.objects.filter(pk=tid).first()
        if tenant is None:
            raise CommandError(f"no tenant with id {tid}")
        result = member_provision(tenant=tenant, email=email, role=role, password=password)
        membership = result.membership
        self.stdout.write(json.dumps({
            "tenantId": str(tenant.id),
            "userId": str(membership.user_id),
            "email": membership.user.email,
            "role": membership.role,
            "token": result.token,
        }))
