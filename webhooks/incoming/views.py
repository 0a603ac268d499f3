"""Thin HTTP interfaces: the tenant API (DRF) and the public endpoint (plain Django)."""

from __future__ import annotations

import uuid

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import TenantScopedViewSet
from core.drf import error_body
from core.parsers import JSONParser
from core.renderers import CamelCaseJSONRenderer
from tenancy.permissions import CanManageIntegrations
from webhooks.incoming import conf, services
from webhooks.incoming.serializers import (
    IncomingWebhookInputSerializer,
    IncomingWebhookOutputSerializer,
    RotateSecretInputSerializer,
)
from webhooks.models import IncomingWebhook


class IncomingWebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """``/api/webhooks/incoming``: the secret appears only in create and rotate answers."""

    parser_classes = [JSONParser]  # JSON only; free-form keys kept (settings.JSON_CAMEL_CASE)
    renderer_classes = [CamelCaseJSONRenderer]
    permission_classes = [CanManageIntegrations]  # members read, owners and admins change (C11)

    queryset = IncomingWebhook.objects.all()
    serializer_class = IncomingWebhookOutputSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=IncomingWebhookInputSerializer, responses={201: IncomingWebhookOutputSerializer})
    def create(self, request, *args, **kwargs):
        serializer = IncomingWebhookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook, secret = services.incoming_create(tenant=request.tenant, data=dict(serializer.validated_data))
        body = {**IncomingWebhookOutputSerializer(webhook).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncomingWebhookInputSerializer, responses={200: IncomingWebhookOutputSerializer})
    def partial_update(self, request, *args, **kwargs):
        webhook = self.get_object()
        serializer = IncomingWebhookInputSerializer(webhook, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "secret" in data:
            return Response(
                error_body(400, "secret: change it with POST …/rotate-secret", "invalid",
                           {"secret": ["use rotate-secret to change the secret"]}),
                status=status.HTTP_400_BAD_REQUEST,
            )
        webhook = services.incoming_update(webhook=webhook, data=data)
        return Response(IncomingWebhookOutputSerializer(webhook).data)

    def destroy(self, request, *args, **kwargs):
        services.incoming_delete(webhook=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RotateSecretInputSerializer, responses={200: IncomingWebhookOutputSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, *args, **kwargs):
        webhook = self.get_object()
        serializer = RotateSecretInputSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        webhook, secret = services.incoming_rotate_secret(webhook=webhook, secret=serializer.validated_data.get("secret"))
        return Response({**IncomingWebhookOutputSerializer(webhook).data, "secret": secret})


def _json(status_code: int, data: dict, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(data, status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _not_found() -> JsonResponse:
    return _json(404, error_body(404, "Not found."))


@csrf_exempt
@transaction.non_atomic_requests
def public_endpoint(request: HttpRequest, tenant_id: str, webhook_id: str) -> HttpResponse:
    """``POST /api/webhooks/tenant/{tenantId}/{webhookId}`` (C6), unauthenticated by design.

    A plain Django view rather than DRF: no authentication or content
    negotiation to undo, the raw body bytes untouched for the signature, and
    less work per request on the hottest path of the hub. Not wrapped in the
    request transaction: services.incoming_receive scopes each statement
    itself (two statements, no BEGIN/COMMIT, for a request without a
    delivery id).
    """
    try:
        tid, wid = uuid.UUID(tenant_id), uuid.UUID(webhook_id)
    except ValueError:
        return _not_found()
    if request.method not in ("POST", "GET"):
        return _json(405, error_body(405, "Use POST."), {"Allow": "POST"})
    limit = conf.max_body_bytes()
    too_large = _json(413, error_body(413, f"The body is larger than {limit} bytes."))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return too_large
    try:
        body = request.body
    except (RequestDataTooBig, RawPostDataException):
        return too_large
    if len(body) > limit:
        return too_large
    result = services.incoming_receive(
        tenant_id=tid,
        webhook_id=wid,
        method=request.method,
        full_path=request.get_full_path(),
        headers=dict(request.headers),
        body=body,
        query={k: v for k, v in request.GET.items()},
    )
    if result.data is not None:
        return _json(result.status, result.data, result.headers)
    response = HttpResponse(result.body or b"", status=result.status, content_type=result.content_type)
    for name, value in result.headers.items():
        response[name] = value
    return response
