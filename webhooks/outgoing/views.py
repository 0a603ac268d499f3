"""Thin API views: validate input, call services/selectors, shape output."""

from __future__ import annotations

from django.db import connections, transaction
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import TenantScopedViewSet
from core.drf import error_response
from core.pagination import LogPagination
from core.parsers import JSONParser
from core.renderers import CamelCaseJSONRenderer
from core.tenant_context import tenant_scope
from core.words import say
from tenancy.permissions import CanManageIntegrations
from webhooks.incoming.said import with_texts
from webhooks.models import IncomingWebhook, OutgoingWebhook, WebhookLog
from webhooks.outgoing import selectors, services
from webhooks.outgoing.serializers import (
    OutgoingWebhookInputSerializer,
    OutgoingWebhookSerializer,
    PreviewInputSerializer,
    TestSendInputSerializer,
    WebhookLogFilterSerializer,
    WebhookLogSerializer,
)


class _HubIO:
    """JSON only; free-form objects keep their keys (settings.JSON_CAMEL_CASE). Members read,
    owners and admins change (C11)."""

    parser_classes = [JSONParser]
    renderer_classes = [CamelCaseJSONRenderer]
    permission_classes = [CanManageIntegrations]


PREVIEW_RESPONSE = inline_serializer(
    "WebhookPreview",
    {
        "entity_type": serializers.CharField(),
        "event": serializers.CharField(),
        "body": serializers.JSONField(help_text="The rendered body as JSON (any JSON value)."),
        "body_text": serializers.CharField(help_text="The exact bytes that would be sent, as text."),
        "placeholders": serializers.ListField(child=serializers.CharField()),
    },
)


def _config_error(exc: services.WebhookConfigError) -> exceptions.ValidationError:
    return exceptions.ValidationError(exc.fields)


def _data(request) -> dict:
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"non_field_errors": [_("the body must be a JSON object")]})
    return request.data


@extend_schema(tags=["webhooks"])
class OutgoingWebhookViewSet(
    _HubIO,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    TenantScopedViewSet,
):
    """`/api/webhooks/outgoing` (seed section ח) plus the builder's `preview`."""

    queryset = OutgoingWebhook.objects.all()
    serializer_class = OutgoingWebhookSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    member_actions = ("preview", "preview_draft")  # POSTs that render, change nothing

    @extend_schema(request=OutgoingWebhookInputSerializer, responses=OutgoingWebhookSerializer)
    def create(self, request, *args, **kwargs):
        serializer = OutgoingWebhookInputSerializer(data=_data(request))
        serializer.is_valid(raise_exception=True)
        try:
            webhook = services.outgoing_webhook_create(tenant=request.tenant, data=serializer.validated_data)
        except services.WebhookConfigError as exc:
            raise _config_error(exc) from None
        return Response(OutgoingWebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OutgoingWebhookInputSerializer, responses=OutgoingWebhookSerializer)
    def partial_update(self, request, *args, **kwargs):
        webhook = self.get_object()
        serializer = OutgoingWebhookInputSerializer(webhook, data=_data(request), partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            webhook = services.outgoing_webhook_update(webhook=webhook, data=serializer.validated_data)
        except services.WebhookConfigError as exc:
            raise _config_error(exc) from None
        return Response(OutgoingWebhookSerializer(webhook).data)

    def destroy(self, request, *args, **kwargs):
        services.outgoing_webhook_delete(webhook=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _preview(self, request, webhook: OutgoingWebhook | None):
        serializer = PreviewInputSerializer(data=_data(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        use_webhook_template = webhook is not None and "payload_template" not in data
        try:
            out = services.webhook_preview(
                webhook=webhook,
                tenant=request.tenant,
                template=data.get("payload_template"),
                use_webhook_template=use_webhook_template,
                entity_type=data.get("entity_type"),
                event=data.get("event"),
                entity=data.get("entity"),
                entity_id=str(data["entity_id"]) if data.get("entity_id") else None,
            )
        except services.WebhookConfigError as exc:
            raise _config_error(exc) from None
        return Response(out)

    @extend_schema(request=PreviewInputSerializer, responses={200: PREVIEW_RESPONSE}, operation_id="webhooksOutgoingPreview")
    @action(detail=True, methods=["post"])
    def preview(self, request, *args, **kwargs):
        """Render this webhook's template (or a draft one) for a sample or given entity."""
        return self._preview(request, self.get_object())

    @extend_schema(
        request=PreviewInputSerializer, responses={200: PREVIEW_RESPONSE}, operation_id="webhooksOutgoingPreviewDraft"
    )
    @action(detail=False, methods=["post"], url_path="preview")
    def preview_draft(self, request, *args, **kwargs):
        """Render a draft template before the webhook exists (the builder's live preview)."""
        return self._preview(request, None)


def _webhook_or_404(request, webhook_id: str):
    webhook = selectors.webhook_of_tenant(tenant=request.tenant, webhook_id=webhook_id)
    if webhook is None:
        raise exceptions.NotFound()
    return webhook


@extend_schema(tags=["webhooks"], request=TestSendInputSerializer)
class WebhookTestView(_HubIO, APIView):
    """`POST /api/webhooks/:id/test` for both kinds of webhook.

    Not atomic per request: an outgoing test send waits on a tenant's receiver
    (up to the webhook's timeout), and no database transaction — nor the locks
    and the pooled connection it holds — may wait with it. Authentication and
    the tenant lookup run in a short transaction of their own; each step after
    that opens its own tenant scope.
    """

    @classmethod
    def as_view(cls, **initkwargs):
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def initial(self, request, *args, **kwargs):
        with transaction.atomic():
            super().initial(request, *args, **kwargs)

    def get_exception_handler(self):
        handler = super().get_exception_handler()

        def keep_callers_transaction(exc, context):
            # DRF marks every open atomic block for rollback (made for ATOMIC_REQUESTS).
            # This view has no request transaction: an open block is its caller's (a
            # test's), and not this error's to roll back.
            marks = [(db, db.get_rollback()) for db in connections.all() if db.in_atomic_block]
            try:
                return handler(exc, context)
            finally:
                for db, mark in marks:
                    db.set_rollback(mark)

        return keep_callers_transaction

    def post(self, request, webhook_id: str):
        with tenant_scope(request.tenant.id):
            webhook = _webhook_or_404(request, webhook_id)
        data = request.data if isinstance(request.data, dict) else {}
        if isinstance(webhook, IncomingWebhook):
            from webhooks.incoming import services as incoming_services

            payload = data.get("payload")
            if payload is not None and not isinstance(payload, dict):
                raise exceptions.ValidationError({"payload": ["must be an object"]})
            try:
                with tenant_scope(request.tenant.id):
                    # each English reason and error with its ``…Text`` in the request's language beside it
                    return Response(with_texts(incoming_services.incoming_test(webhook, payload=payload)))
            except ValueError as exc:
                raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from None
        serializer = TestSendInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        try:
            row, result = services.webhook_test_send(
                webhook=webhook,
                payload=serializer.validated_data.get("payload"),
                entity_type=serializer.validated_data.get("entity_type"),
                event=serializer.validated_data.get("event"),
            )
        except ValueError as exc:  # e.g. signing on without a secret
            raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from None
        body = result.body_json if result.body_json is not None else result.body_text
        return Response(
            {
                "status": result.status,
                "body": body,
                "durationMs": result.duration_ms,
                "success": result.ok,
                "error": result.error,
                # ``error`` (English, as logged) in the request's language
                "errorText": say(result.error_words) or result.error,
                "logId": str(row.pk),
                "deliveryId": str(row.delivery_id),
            }
        )


_LOG_FILTERS = [
    OpenApiParameter("status", str, enum=list(selectors.LOG_STATUSES)),
    OpenApiParameter("event", str, description="Event type, e.g. `meeting.created`."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Logs at or after this time."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Logs before this time."),
]
_LOG_LIST_DOC = (
    " Newest first. Keyset pages: `next` / `previous` are `?cursor=` links (constant cost at any depth);"
    " `count` is exact up to 10,000 and 10,000 above it, with `countCapped: true`; `?page=` reaches the"
    " pages within that count."
)


class _LogList(_HubIO, APIView):
    pagination_class = LogPagination  # for the schema; pages are built in _page

    def _page(self, request, **filters) -> Response:
        qs = selectors.webhook_logs(tenant=request.tenant, **filters)
        paginator = LogPagination(selectors.LOG_ORDER)
        rows = paginator.paginate(qs, request)
        return paginator.get_paginated_response(WebhookLogSerializer(rows, many=True).data)


@extend_schema(tags=["webhooks"], responses=WebhookLogSerializer(many=True), parameters=_LOG_FILTERS,
               description="One webhook's logs (incoming requests, or outgoing attempts)." + _LOG_LIST_DOC)
class WebhookLogsView(_LogList):
    """`GET /api/webhooks/:id/logs?status=&event=&since=&until=` — keyset pages, newest first."""

    def get(self, request, webhook_id: str):
        pk = selectors.webhook_id_of_tenant(tenant=request.tenant, webhook_id=webhook_id)
        if pk is None:
            raise exceptions.NotFound()
        filters = WebhookLogFilterSerializer.parse(request.query_params)
        filters.pop("webhook_id", None)
        return self._page(request, webhook_id=pk, **filters)


@extend_schema(tags=["webhooks"], responses=WebhookLogSerializer(many=True),
               parameters=[OpenApiParameter("webhookId", OpenApiTypes.UUID), *_LOG_FILTERS],
               description="All the tenant's webhook logs, incoming and outgoing." + _LOG_LIST_DOC)
class WebhookLogListView(_LogList):
    """`GET /api/webhook-logs?webhookId=&status=&event=&since=&until=` — the tenant's logs, keyset pages."""

    def get(self, request):
        return self._page(request, **WebhookLogFilterSerializer.parse(request.query_params))


def _log_or_404(request, log_id: str):
    row = selectors.webhook_log_get(tenant=request.tenant, log_id=log_id)
    if row is None:
        raise exceptions.NotFound()
    return row


@extend_schema(tags=["webhooks"], responses=WebhookLogSerializer)
class WebhookLogDetailView(_HubIO, APIView):
    def get(self, request, log_id: str):
        return Response(WebhookLogSerializer(_log_or_404(request, log_id)).data)


@extend_schema(tags=["webhooks"], request=None)
class WebhookLogReplayView(_HubIO, APIView):
    """`POST /api/webhook-logs/:logId/replay`: outgoing → a new manual attempt; incoming → reprocess."""

    def post(self, request, log_id: str):
        row = _log_or_404(request, log_id)
        if row.direction == WebhookLog.Direction.INCOMING:
            from webhooks.incoming import services as incoming_services

            try:
                result = incoming_services.incoming_reprocess(row)
            except ValueError as exc:
                return error_response(409, str(exc), "conflict")
            return Response(with_texts(result), status=status.HTTP_202_ACCEPTED)
        try:
            new = services.log_replay(log=row)
        except services.ReplayRefused as exc:
            return error_response(409, str(exc), "conflict")
        return Response(WebhookLogSerializer(new).data, status=status.HTTP_202_ACCEPTED)
