from __future__ import annotations

import hashlib
import secrets
import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class HubUserManager(UserManager):
    use_in_migrations = True


class User(AbstractUser):
    """The platform user (seed `users` table); UUID primary key from the first migration."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    email = models.EmailField(_("email address"), unique=True)

    objects = HubUserManager()

    class Meta:
        db_table = "users"
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Tenant(models.Model):
    """A studio (seed `tenants` table)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(max_length=100, unique=True, verbose_name=_("slug"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        db_table = "tenants"
        ordering = ["name"]
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("tenant"))
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user"))
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER, verbose_name=_("role"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        db_table = "memberships"
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="unique_membership")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.tenant_id} ({self.get_role_display()})"

    @property
    def can_manage(self) -> bool:
        """Owner and admin change integrations, provider settings and webhooks (C11); a member reads them."""
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


TOKEN_PREFIX = "ash_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A Bearer token: only its SHA-256 is stored; revocable.

    A user-level credential (looked up before any tenant is known), so it has no
    tenant_id column and no RLS; `default_tenant` only says which tenant a call
    without X-Tenant-ID acts in.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    default_tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("default tenant"))
    name = models.CharField(max_length=100, default="api", verbose_name=_("name"))
    token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("token hash"))
    prefix = models.CharField(max_length=12, verbose_name=_("prefix"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        db_table = "api_tokens"
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @classmethod
    def issue(cls, *, user: User, tenant: Tenant | None = None, name: str = "api") -> tuple[ApiToken, str]:
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, default_tenant=tenant, name=name, token_hash=hash_token(raw), prefix=raw[:8]
        )
        return token, raw

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class WsTicket(models.Model):
    """A one-time WebSocket credential (``POST /api/ws-ticket``, 30 seconds), so a
    browser never puts its API token in a URL that servers and proxies log.

    Only the SHA-256 of the ticket is stored. It remembers what it was issued
    against (the API token, or the session) so the open socket is re-checked
    against that credential. The socket's handshake knows no tenant yet, so like
    OAuth states the table has a narrow RLS policy ``ticket_holder``: a transaction
    that set ``app.ws_ticket_hash`` sees (and deletes) only that one row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    api_token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("api token"))
    session_key = models.CharField(max_length=40, null=True, blank=True, verbose_name=_("session key"))
    ticket_hash = models.CharField(max_length=64, unique=True, verbose_name=_("ticket hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))

    class Meta:
        db_table = "ws_tickets"
        indexes = [models.Index(fields=["expires_at"], name="idx_ws_tickets_expiry")]
        verbose_name = _("WebSocket ticket")
        verbose_name_plural = _("WebSocket tickets")
