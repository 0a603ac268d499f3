"""Stand-ins for the platform's own entities (specified elsewhere; contract C4).

Small but real: the fields the integrations map to, validation in their
serializers, and an `EntityEvent` written in the same transaction as every change.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.phones import e164_digits
from core.words import Words, words
from tenancy.models import Tenant


class TenantModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        abstract = True


class EntityModel(TenantModel):
    """Entities carry the remote ids they are linked to (`{"google_calendar": "abc"}`)."""

    entity_type: str = ""
    status_field: str | None = "status"
    external_ids = models.JSONField(default=dict, blank=True, verbose_name=_("external ids"))

    class Meta:
        abstract = True

    def fill_derived(self) -> None:
        """Columns computed from others (kept current on every save, and by the bulk insert of
        imports, which calls this since ``bulk_create`` skips ``save``). None by default."""

    def save(self, *args, **kwargs) -> None:
        self.fill_derived()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and self.derived_from and set(update_fields) & set(self.derived_from):
            kwargs["update_fields"] = {*update_fields, *self.derived_fields}
        super().save(*args, **kwargs)

    #: Fields ``fill_derived`` reads, and the ones it writes.
    derived_from: tuple[str, ...] = ()
    derived_fields: tuple[str, ...] = ()


class Meeting(EntityModel):
    entity_type = "meeting"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True, default="")
    start_time = models.DateTimeField(_("start time"))
    end_time = models.DateTimeField(_("end time"))
    location = models.CharField(_("location"), max_length=500, blank=True, default="")
    attendees = models.JSONField(_("attendees"), default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED, verbose_name=_("status"))

    class Meta:
        db_table = "meetings"
        ordering = ["-start_time"]
        indexes = [models.Index(fields=["tenant", "start_time"], name="idx_meetings_tenant_start")]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")

    def __str__(self) -> str:
        return self.title


class Task(EntityModel):
    entity_type = "task"

    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TODO, verbose_name=_("status"))
    priority = models.CharField(
        max_length=10, choices=[("low", _("Low")), ("medium", _("Medium")), ("high", _("High"))], default="medium", verbose_name=_("priority")
    )
    due_date = models.DateTimeField(_("due date"), null=True, blank=True)
    assignee_email = models.EmailField(blank=True, default="", verbose_name=_("assignee email"))

    class Meta:
        db_table = "tasks"
        ordering = ["-created_at"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")

    def __str__(self) -> str:
        return self.title


class Document(EntityModel):
    entity_type = "document"

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        FINAL = "final", _("Final")
        ARCHIVED = "archived", _("Archived")

    class Kind(models.TextChoices):
        """The seed's storage settings sync each kind or not (syncDocuments / syncProposals /
        syncContracts / syncPhotos)."""

        DOCUMENT = "document", _("Document")
        PROPOSAL = "proposal", _("Proposal")
        CONTRACT = "contract", _("Contract")
        PHOTO = "photo", _("Photo")

    name = models.CharField(_("name"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.DOCUMENT)
    description = models.TextField(blank=True, default="", verbose_name=_("description"))
    file_url = models.URLField(max_length=2000, blank=True, default="", verbose_name=_("file url"))
    #: A preview image's address (design tools: Canva / Figma thumbnails; may expire at the provider).
    thumbnail_url = models.URLField(max_length=2000, blank=True, default="", verbose_name=_("thumbnail url"))
    mime_type = models.CharField(max_length=200, blank=True, default="", verbose_name=_("mime type"))
    size_bytes = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(0)], verbose_name=_("size bytes"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, verbose_name=_("status"))
    #: Whose document it is and which project it belongs to: storage integrations name their
    #: ``by_client`` / ``by_project`` folders after them (the platform has no project entity here).
    client = models.ForeignKey("Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="documents",
                               verbose_name=_("client"))
    project_name = models.CharField(_("project"), max_length=300, blank=True, default="")

    class Meta:
        db_table = "documents"
        ordering = ["-created_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return self.name


class Client(EntityModel):
    entity_type = "client"

    class Status(models.TextChoices):
        LEAD = "lead", _("Lead")
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")

    name = models.CharField(_("name"), max_length=300)
    email = models.EmailField(blank=True, default="", verbose_name=_("email"))
    phone = models.CharField(max_length=50, blank=True, default="", verbose_name=_("phone"))
    address = models.CharField(max_length=500, blank=True, default="", verbose_name=_("address"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status"))
    #: The client asked not to get marketing email (an unsubscribe imported from a mailing
    #: service); an export never turns it back into a subscription.
    email_opt_out = models.BooleanField(_("email opt-out"), default=False)
    #: ``phone`` as E.164 digits without "+" ("972501234567"; a national number is read as
    #: Israeli, core.phones.DEFAULT_COUNTRY_CODE), "" when it is no phone number: an inbound
    #: message finds its client by one indexed lookup instead of normalising every phone.
    phone_e164 = models.CharField(_("phone (E.164)"), max_length=15, blank=True, default="", editable=False)

    derived_from = ("phone",)
    derived_fields = ("phone_e164",)

    class Meta:
        db_table = "clients"
        ordering = ["name"]
        indexes = [models.Index(fields=["tenant", "phone_e164"], name="idx_clients_phone_e164",
                                condition=~models.Q(phone_e164=""))]
        verbose_name = _("client")
        verbose_name_plural = _("clients")

    def __str__(self) -> str:
        return self.name

    def fill_derived(self) -> None:
        self.phone_e164 = e164_digits(self.phone)


class Supplier(EntityModel):
    entity_type = "supplier"
    status_field = None

    name = models.CharField(_("name"), max_length=300)
    email = models.EmailField(blank=True, default="", verbose_name=_("email"))
    phone = models.CharField(max_length=50, blank=True, default="", verbose_name=_("phone"))
    category = models.CharField(max_length=100, blank=True, default="", verbose_name=_("category"))

    class Meta:
        db_table = "suppliers"
        ordering = ["name"]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self) -> str:
        return self.name


class Payment(EntityModel):
    entity_type = "payment"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))], verbose_name=_("amount"))
    currency = models.CharField(max_length=3, default="ILS", verbose_name=_("currency"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    due_date = models.DateField(null=True, blank=True, verbose_name=_("due date"))
    invoiced = models.BooleanField(default=False, verbose_name=_("invoiced"))
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments", verbose_name=_("client"))
    description = models.CharField(max_length=500, blank=True, default="", verbose_name=_("description"))
    # The payment page / low-profile link a payment provider made for it (PayPlus, Cardcom):
    # written by the export that created the page, shown to the SPA as ``paymentUrl``.
    payment_url = models.URLField(_("payment link"), max_length=2000, blank=True, default="")
    # What a payment provider's result reported (PayPlus / Cardcom callbacks): the amount
    # charged so far (less than ``amount`` only when the integration allows partial
    # payments), and the studio's fee on it (``feePercent`` / ``feeFixed``) and what is left.
    # Empty until a result arrives.
    amount_paid = models.DecimalField(_("amount paid"), max_digits=14, decimal_places=2, null=True, blank=True)
    fee_amount = models.DecimalField(_("processing fee"), max_digits=14, decimal_places=2, null=True, blank=True)
    net_amount = models.DecimalField(_("net amount"), max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        db_table = "payments"
        ordering = ["-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class Expense(EntityModel):
    entity_type = "expense"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected")

    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))], verbose_name=_("amount"))
    currency = models.CharField(max_length=3, default="ILS", verbose_name=_("currency"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    category = models.CharField(max_length=100, blank=True, default="", verbose_name=_("category"))
    description = models.CharField(max_length=500, blank=True, default="", verbose_name=_("description"))
    expense_date = models.DateField(null=True, blank=True, verbose_name=_("expense date"))
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="expenses", verbose_name=_("supplier"))

    class Meta:
        db_table = "expenses"
        ordering = ["-created_at"]
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class Message(EntityModel):
    """A message to or from a client over WhatsApp, SMS or email (issue 16).

    Outgoing ones are written by the messaging rules before the provider is called;
    incoming ones by the provider's webhook. ``external_ids`` holds the provider's
    message id (``{"twilio": "SM..."}``), which delivery callbacks look it up by.
    """

    entity_type = "message"

    class Channel(models.TextChoices):
        WHATSAPP = "whatsapp", _("WhatsApp")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")
        RECEIVED = "received", _("Received")

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    from_address = models.CharField(_("from"), max_length=320, blank=True, default="")
    to_address = models.CharField(_("to"), max_length=320, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=500, blank=True, default="")
    body = models.TextField(_("body"), blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status"))
    error = models.CharField(_("error"), max_length=500, blank=True, default="")
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", verbose_name=_("client"))
    #: What an outgoing message asks the provider for beyond from/to/subject/body, as its rule
    #: rendered it: ``template`` (a WhatsApp template name / SendGrid "d-..." id), ``language``,
    #: ``parameters`` (texts), ``dynamicData`` ([{"name", "value"}]: a list, so no key is ever
    #: re-cased on the wire), ``fromName``. The sync engine exports the record from these.
    content = models.JSONField(_("content"), default=dict, blank=True)

    class Meta:
        db_table = "messages"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "client", "created_at"], name="idx_messages_client")]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.get_direction_display()} {self.to_address or self.from_address}"


ENTITY_MODELS: dict[str, type[EntityModel]] = {
    m.entity_type: m for m in (Meeting, Task, Document, Payment, Expense, Client, Supplier, Message)
}
ENTITY_TYPES: tuple[str, ...] = tuple(ENTITY_MODELS)
#: A stored entity type and its label (the entity model's name): the choices of the entity-type columns.
ENTITY_TYPE_CHOICES: list[tuple[str, str]] = [(t, m._meta.verbose_name) for t, m in ENTITY_MODELS.items()]
ENTITY_EVENTS: tuple[str, ...] = ("created", "updated", "deleted", "status_changed")


def entity_type_label(entity_type: str) -> str:
    """An entity type's name in the active language (its model's verbose name: ``פגישה`` for
    ``meeting``), for a message that names the type; an unknown code as it is."""
    model = ENTITY_MODELS.get(entity_type)
    return str(model._meta.verbose_name) if model is not None else str(entity_type)


def entity_type_words(entity_type: str) -> Words | str:
    """:func:`entity_type_label` as a words param (core.words), for a message kept and said later
    in its reader's language: the verbose name's msgid; an unknown code as it is (data)."""
    model = ENTITY_MODELS.get(entity_type)
    if model is None:
        return str(entity_type)
    with translation.override(None):  # no catalog: the msgid itself
        return words(str(model._meta.verbose_name))


#: Who wrote a change, by its outbox row's ``source`` (the writers' own spellings: entities.services'
#: "api" default, integrations.messaging's "messaging", the sync engine's "integration:<id>",
#: webhooks.loops.webhook_source's "webhook" and "webhook:hops=<n>").
SOURCE_LABELS = {"api": _("API"), "messaging": _("Messaging (WhatsApp, SMS)"), "webhook": _("Incoming webhook")}


def event_source_label(source: str | None) -> tuple[str, str | None]:
    """(the words for an outbox row's ``source``, the integration id it names or None); a source
    the hub does not write is shown as stored."""
    source = source or ""
    if source in SOURCE_LABELS:
        return str(SOURCE_LABELS[source]), None
    head, _sep, tail = source.partition(":")
    if head == "integration" and tail:
        return str(_("Integration sync")), tail
    if head == "webhook" and tail.startswith("hops=") and tail[5:].isdigit():
        return str(_("Incoming webhook (after %(hops)s hops between hubs)") % {"hops": tail[5:]}), None
    return source, None


class EntityEvent(models.Model):
    """The outbox: one row per change, written in the change's own transaction.

    Dispatched to Celery on commit; `processed_at` is set by the worker once every
    subscriber has run. The beat sweeper re-dispatches rows still unprocessed after
    OUTBOX_REDISPATCH_AFTER_SECONDS (broker down at commit, worker killed). An event
    whose subscriber fails is retried with backoff (`retry_at`) and given up after
    OUTBOX_MAX_ATTEMPTS runs (`failed_at`, `last_error`); the admin re-dispatches it.
    """

    class Event(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DELETED = "deleted", _("Deleted")
        STATUS_CHANGED = "status_changed", _("Status changed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant"))
    entity_type = models.CharField(max_length=30, choices=ENTITY_TYPE_CHOICES, verbose_name=_("entity type"))
    entity_id = models.UUIDField(verbose_name=_("entity id"))
    event = models.CharField(max_length=20, choices=Event.choices, verbose_name=_("event"))
    old_status = models.CharField(max_length=30, null=True, blank=True, verbose_name=_("old status"))
    new_status = models.CharField(max_length=30, null=True, blank=True, verbose_name=_("new status"))
    data = models.JSONField(default=dict, verbose_name=_("data"))
    actor_id = models.UUIDField(null=True, blank=True, verbose_name=_("actor id"))
    source = models.CharField(max_length=50, default="api", verbose_name=_("source"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    enqueued_at = models.DateTimeField(null=True, blank=True, verbose_name=_("enqueued at"))
    enqueue_count = models.PositiveIntegerField(default=0, verbose_name=_("enqueue count"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    last_error = models.TextField(blank=True, default="", verbose_name=_("last error"))
    # A subscriber failed: how many runs failed, when the next may start (backoff),
    # and when the outbox gave up (OUTBOX_MAX_ATTEMPTS; processed_at is set too).
    attempts = models.PositiveIntegerField(default=0, db_default=0, verbose_name=_("attempts"))
    retry_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retry at"))
    failed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("failed at"))

    class Meta:
        db_table = "entity_events"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "entity_type", "entity_id"], name="idx_entity_events_entity"),
            models.Index(
                fields=["created_at"], name="idx_entity_events_pending", condition=models.Q(processed_at__isnull=True)
            ),
            # Events the outbox gave up on (few): the dashboard's list and /metrics' count.
            models.Index(
                fields=["failed_at"], name="idx_entity_events_failed", condition=models.Q(failed_at__isnull=False)
            ),
        ]
        verbose_name = _("entity event")
        verbose_name_plural = _("entity events")

    def __str__(self) -> str:
        return f"{self.entity_type}.{self.event} {self.entity_id}"

    @property
    def name(self) -> str:
        return f"{self.entity_type}.{self.event}"
