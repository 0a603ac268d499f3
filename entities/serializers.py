from __future__ import annotations

import json
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import (
    AmountField,
    HttpUrlField,
    JSONListField,
    JSONObjectField,
    RFC3339DateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictEmailField,
)
from entities.models import Client, Document, Expense, Meeting, Message, Payment, Supplier, Task

MAX_ATTENDEES = 500
MAX_EXTERNAL_IDS = 50
#: Free-text fields (TextField in the models, unbounded in the database). Every
#: entity is copied into its event, its outgoing payloads and its sync calls, so
#: a size cap here bounds all of those (issue 10: no amplification).
MAX_TEXT_CHARS = 50_000
#: JSON fields, measured as compact JSON text in UTF-8.
MAX_JSON_BYTES = 65536


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8", "surrogatepass"))


def validate_json_size(value: Any) -> Any:
    if json_size(value) > MAX_JSON_BYTES:
        raise serializers.ValidationError(f"must be at most {MAX_JSON_BYTES} bytes as JSON")
    return value


def validate_external_ids(value: Any) -> dict:
    if not isinstance(value, dict):
        raise serializers.ValidationError("must be an object of provider → remote id")
    if len(value) > MAX_EXTERNAL_IDS:
        raise serializers.ValidationError(f"at most {MAX_EXTERNAL_IDS} entries")
    for key, val in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 100:
            raise serializers.ValidationError("keys must be strings of 1-100 characters")
        if not isinstance(val, str | int) or len(str(val)) > 500:
            raise serializers.ValidationError("values must be strings or numbers of at most 500 characters")
    return {k: str(v) for k, v in value.items()}


@extend_schema_field({
    "type": "object",
    "maxProperties": MAX_EXTERNAL_IDS,
    "propertyNames": {"minLength": 1, "maxLength": 100},
    "additionalProperties": {"anyOf": [{"type": "string", "maxLength": 500}, {"type": "integer"}]},
})
class ExternalIdsField(JSONObjectField):
    """provider → remote id (numbers are taken as their text)."""


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z]{3}$", "example": "ILS"})
class CurrencyField(StrictCharField):
    """ISO 4217 code (upper-cased by validate_currency)."""


@extend_schema_field({
    "type": "array",
    "maxItems": MAX_ATTENDEES,
    "items": {"anyOf": [
        {"type": "string", "description": "an email address"},
        {"type": "object", "properties": {"email": {"type": "string"}}, "additionalProperties": True},
    ]},
})
class AttendeesField(JSONListField):
    """Email strings or objects with an email."""


class EntitySerializer(serializers.ModelSerializer):
    # Text is text and datetimes are RFC 3339 (core/fields.py says why).
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.DateTimeField: RFC3339DateTimeField,
        models.BooleanField: StrictBooleanField,
        models.DecimalField: AmountField,
    }
    id = serializers.UUIDField(read_only=True)
    tenant_id = serializers.UUIDField(read_only=True)
    external_ids = ExternalIdsField(required=False, validators=[validate_json_size, validate_external_ids])
    common_fields = ("id", "tenant_id", "external_ids", "created_at", "updated_at")
    read_only_fields = ("created_at", "updated_at")

    def build_standard_field(self, field_name, model_field):
        """Unbounded model text fields get the API's cap (MAX_TEXT_CHARS)."""
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if model_field.get_internal_type() == "TextField" and "max_length" not in field_kwargs:
            field_kwargs["max_length"] = MAX_TEXT_CHARS
        return field_class, field_kwargs

    def _tenant(self):
        request = self.context.get("request")
        tenant = self.context.get("tenant") or getattr(request, "tenant", None)
        return tenant


class TenantRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key that only resolves rows of the caller's tenant.

    A UUID string or null: DRF would also take "" as null, which the schema does not.
    """

    def run_validation(self, data=serializers.empty):
        if data is not serializers.empty and data is not None and not isinstance(data, str) or data == "":
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().run_validation(data)

    def get_queryset(self):
        tenant = self.parent._tenant() if hasattr(self.parent, "_tenant") else None
        qs = super().get_queryset()
        return qs.filter(tenant=tenant) if tenant is not None else qs.none()


class MeetingSerializer(EntitySerializer):
    attendees = AttendeesField(required=False, validators=[validate_json_size])

    class Meta:
        model = Meeting
        fields = (*EntitySerializer.common_fields, "title", "description", "start_time", "end_time", "location", "attendees", "status")
        read_only_fields = EntitySerializer.read_only_fields

    def validate_attendees(self, value):
        if not isinstance(value, list) or len(value) > MAX_ATTENDEES:
            raise serializers.ValidationError(f"must be a list of at most {MAX_ATTENDEES} attendees")
        for item in value:
            if isinstance(item, str):
                continue
            if not isinstance(item, dict) or not isinstance(item.get("email", ""), str):
                raise serializers.ValidationError("each attendee is an email string or an object with an email")
        return value

    def validate(self, attrs):
        start = attrs.get("start_time", getattr(self.instance, "start_time", None))
        end = attrs.get("end_time", getattr(self.instance, "end_time", None))
        if start and end and end < start:
            raise serializers.ValidationError({"end_time": ["must not be before startTime"]})
        return attrs


class TaskSerializer(EntitySerializer):
    class Meta:
        model = Task
        fields = (*EntitySerializer.common_fields, "title", "description", "status", "priority", "due_date", "assignee_email")
        read_only_fields = EntitySerializer.read_only_fields


class DocumentSerializer(EntitySerializer):
    file_url = HttpUrlField(required=False, allow_blank=True, max_length=2000)
    thumbnail_url = HttpUrlField(required=False, allow_blank=True, max_length=2000)
    client_id = TenantRelatedField(source="client", queryset=Client.objects.all(), required=False, allow_null=True)
    #: The client's name, read-only: what a ``by_client`` storage folder is named after.
    client_name = serializers.CharField(source="client.name", read_only=True, allow_null=True)

    class Meta:
        model = Document
        fields = (*EntitySerializer.common_fields, "name", "description", "file_url", "thumbnail_url", "mime_type",
                  "size_bytes", "status", "kind", "client_id", "client_name", "project_name")
        read_only_fields = EntitySerializer.read_only_fields


class ClientSerializer(EntitySerializer):
    class Meta:
        model = Client
        fields = (*EntitySerializer.common_fields, "name", "email", "phone", "address", "status", "email_opt_out")
        read_only_fields = EntitySerializer.read_only_fields


class SupplierSerializer(EntitySerializer):
    class Meta:
        model = Supplier
        fields = (*EntitySerializer.common_fields, "name", "email", "phone", "category")
        read_only_fields = EntitySerializer.read_only_fields


def _currency(value: str) -> str:
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise serializers.ValidationError("must be a 3-letter ISO 4217 code")
    return value.upper()


class PaymentSerializer(EntitySerializer):
    currency = CurrencyField(required=False, max_length=3)
    client_id = TenantRelatedField(source="client", queryset=Client.objects.all(), required=False, allow_null=True)

    class Meta:
        model = Payment
        fields = (*EntitySerializer.common_fields, "amount", "currency", "status", "due_date", "invoiced", "client_id", "description",
                  "payment_url", "amount_paid", "fee_amount", "net_amount")
        read_only_fields = (*EntitySerializer.read_only_fields, "amount_paid", "fee_amount", "net_amount")

    def validate_currency(self, value):
        return _currency(value)


class ExpenseSerializer(EntitySerializer):
    currency = CurrencyField(required=False, max_length=3)
    supplier_id = TenantRelatedField(source="supplier", queryset=Supplier.objects.all(), required=False, allow_null=True)

    class Meta:
        model = Expense
        fields = (*EntitySerializer.common_fields, "amount", "currency", "status", "category", "description", "expense_date", "supplier_id")
        read_only_fields = EntitySerializer.read_only_fields

    def validate_currency(self, value):
        return _currency(value)


class MessageSerializer(EntitySerializer):
    """``from`` and ``to`` on the wire (Python keywords, so ``from_address``/``to_address`` in the model)."""

    client_id = TenantRelatedField(source="client", queryset=Client.objects.all(), required=False, allow_null=True)

    class Meta:
        model = Message
        fields = (*EntitySerializer.common_fields, "channel", "direction", "from_address", "to_address", "subject", "body",
                  "status", "error", "client_id", "content")
        read_only_fields = EntitySerializer.read_only_fields
        extra_kwargs = {"to_address": {"required": True, "allow_blank": False}}

    def validate_content(self, value):
        allowed = {"template", "language", "parameters", "dynamicData", "fromName"}
        if isinstance(value, dict):  # the API's parser snake-cases keys; stored as the wire shows them
            value = {{"dynamic_data": "dynamicData", "from_name": "fromName"}.get(k, k): v for k, v in value.items()}
        if not isinstance(value, dict) or set(value) - allowed:
            raise serializers.ValidationError(f"must be an object with only {', '.join(sorted(allowed))}")
        if len(json.dumps(value)) > 20_000:
            raise serializers.ValidationError("must be at most 20,000 characters as JSON")
        return value

    def get_fields(self):
        fields = super().get_fields()
        for model_name, wire_name in (("from_address", "from"), ("to_address", "to")):
            field = fields.pop(model_name)
            field.source = model_name
            fields[wire_name] = field
        return fields


SERIALIZERS: dict[str, type[EntitySerializer]] = {
    "meeting": MeetingSerializer,
    "task": TaskSerializer,
    "document": DocumentSerializer,
    "payment": PaymentSerializer,
    "expense": ExpenseSerializer,
    "client": ClientSerializer,
    "supplier": SupplierSerializer,
    "message": MessageSerializer,
}
