"""The connections API (seed section ח, DESIGN C10). Thin: every write is a service call."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpResponseRedirect
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import TenantScopedViewSet
from core.drf import error_body, error_response
from core.pagination import LogPagination
from core.parsers import JSONParser
from core.renderers import CamelCaseJSONRenderer
from core.words import say
from integrations import design_exports, oauth, selectors, services
from integrations.client import ProviderError
from integrations.models import Integration
from integrations.providers.adapter import ExportJob
from integrations.providers.catalog import PROVIDERS
from integrations.serializers import (
    CredentialsConnectSerializer,
    IntegrationLogFilterSerializer,
    IntegrationLogSerializer,
    IntegrationSerializer,
    IntegrationUpdateSerializer,
    MappingPreviewOutputSerializer,
    MappingPreviewSerializer,
    StatusSerializer,
    SyncRequestSerializer,
)
from integrations.sync import services as sync
from integrations.sync.preview import PreviewError, mapping_preview
from integrations.tokens import TokenUnavailable
from tenancy.permissions import CanManageIntegrations, IsTenantManager


def _export_job(job: ExportJob) -> dict:
    return {"jobId": job.id, "status": job.status, "urls": list(job.urls), "error": job.error}


class _HubIO:
    """JSON only; free-form objects keep their keys (settings.JSON_CAMEL_CASE). Members read,
    owners and admins change (C11)."""

    parser_classes = [JSONParser]
    renderer_classes = [CamelCaseJSONRenderer]
    permission_classes = [CanManageIntegrations]


def _unknown_provider(provider: str) -> Response:
    return error_response(404, f"Unknown provider {provider[:50]!r}.", "unknown_provider")


def _connect_error(exc: services.ConnectError) -> Response:
    return error_response(exc.http_status, exc.in_words(), exc.code, exc.fields)  # the request's language


class ProvidersView(_HubIO, APIView):
    """GET /api/integrations/providers: the catalog grouped by category."""

    @extend_schema(tags=["integrations"], responses={200: dict})
    def get(self, request):
        return Response({"categories": selectors.catalog_for_tenant(tenant_id=request.tenant.id)})


class ConnectView(_HubIO, APIView):
    """GET: start OAuth (302, or {"authorizationUrl"} for JSON callers).
    POST: connect an api_key / caldav provider with credentials validated by a real call.
    Both for owners and admins only: the GET starts a connection too."""

    permission_classes = [IsTenantManager]

    @extend_schema(tags=["integrations"], responses={200: dict, 302: None})
    def get(self, request, provider: str):
        if provider not in PROVIDERS:
            return _unknown_provider(provider)
        try:
            started = services.oauth_start(tenant_id=request.tenant.id, user_id=request.user.pk, provider_id=provider)
        except services.ConnectError as exc:
            return _connect_error(exc)
        if "application/json" in request.headers.get("Accept", ""):
            response = Response({"authorizationUrl": started.authorization_url})
        else:
            response = HttpResponseRedirect(started.authorization_url)
        _set_nonce_cookie(response, started)
        return response

    @extend_schema(tags=["integrations"], request=CredentialsConnectSerializer, responses={201: IntegrationSerializer})
    def post(self, request, provider: str):
        if provider not in PROVIDERS:
            return _unknown_provider(provider)
        body = CredentialsConnectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            integration, _verified = services.integration_connect_credentials(
                tenant_id=request.tenant.id, user_id=request.user.pk, provider_id=provider,
                credentials=body.validated_data["credentials"], name=body.validated_data.get("name"),
            )
        except services.ConnectError as exc:
            return _connect_error(exc)
        return Response(IntegrationSerializer(integration).data, status=status.HTTP_201_CREATED)


# The nonce cookie binds a state to the browser that asked for it (C11). Lax: the
# provider's redirect back is a top-level GET navigation, which carries Lax cookies.
# Scoped to the callback path, named per state so parallel connects do not collide.
NONCE_COOKIE_PREFIX = "hub_oauth_"
NONCE_COOKIE_PATH = "/api/integrations/callback/"


def _cookie_secure() -> bool:
    return settings.SESSION_COOKIE_SECURE or settings.PUBLIC_BASE_URL.startswith("https://")


def _set_nonce_cookie(response, started: services.OAuthStart) -> None:
    response.set_cookie(
        NONCE_COOKIE_PREFIX + started.state_key, started.nonce,
        max_age=int(oauth.STATE_TTL.total_seconds()), path=NONCE_COOKIE_PATH,
        secure=_cookie_secure(), httponly=True, samesite="Lax",
    )


def settings_page_url(integration_id=None, **query) -> str:
    path = f"/integrations/{integration_id}" if integration_id else "/integrations"
    query = {k: v for k, v in query.items() if v}
    return path + ("?" + urlencode(query) if query else "")


@transaction.non_atomic_requests
@require_GET
def oauth_callback(request, provider: str):
    """GET /api/integrations/callback/<provider>: unauthenticated, authenticated by ``state``.

    Not atomic per request on purpose: the state is consumed in its own committed
    transaction (single use even if the exchange fails) and the integration is written
    in another, after the code exchange (no transaction open during the HTTP call).
    """
    if provider not in PROVIDERS:
        return HttpResponseRedirect(settings_page_url(error="unknown_provider"))
    params = {k: v for k, v in request.GET.items()}
    cookie_name = NONCE_COOKIE_PREFIX + services.oauth_state_key(params.get("state") or "")
    result = services.oauth_complete(provider_id=provider, params=params, nonce=request.COOKIES.get(cookie_name))
    if result.ok:
        response = HttpResponseRedirect(settings_page_url(result.integration_id, connected=provider))
    else:
        response = HttpResponseRedirect(settings_page_url(provider=provider, error=result.error_code))
    if cookie_name in request.COOKIES:  # the state is consumed either way
        response.delete_cookie(cookie_name, path=NONCE_COOKIE_PATH, samesite="Lax")
    return response


class IntegrationViewSet(_HubIO, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    queryset = Integration.objects.all()
    serializer_class = IntegrationSerializer
    http_method_names = ["get", "patch", "post", "delete", "head", "options"]
    member_actions = ("mappings_preview",)  # a POST that maps a sample and changes nothing

    @extend_schema(tags=["integrations"], request=IntegrationUpdateSerializer, responses={200: IntegrationSerializer})
    def partial_update(self, request, pk=None):
        integration = self.get_object()
        body = IntegrationUpdateSerializer(data=request.data, context={"integration": integration})
        body.is_valid(raise_exception=True)
        integration = services.integration_update(integration=integration, data=body.validated_data)
        return Response(IntegrationSerializer(integration).data)

    @extend_schema(tags=["integrations"], responses={204: None})
    def destroy(self, request, pk=None):
        services.integration_disconnect(integration=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["integrations"], request=None, responses={200: IntegrationSerializer})
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        integration = self.get_object()
        if not integration.has_secret("oauth_encrypted"):
            return error_response(400, "This integration has no OAuth token to refresh.", "not_oauth")
        try:
            integration = services.integration_refresh(integration=integration)
        except TokenUnavailable as exc:
            # the message in the request's language (its words, when it kept them)
            if exc.kind == "expired":
                return error_response(409, exc.in_words(), "reconnect_required")
            if exc.kind == "config":
                return error_response(400, exc.in_words(), "provider_misconfigured")
            return error_response(502, exc.in_words(), "provider_unavailable")
        return Response(IntegrationSerializer(integration).data)

    @extend_schema(tags=["integrations"], request=None, responses={200: dict})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        result = services.integration_test(integration=self.get_object())
        # ``message`` the English text (as the log keeps it), ``messageText`` in the request's language.
        return Response({"ok": result.ok, "httpStatus": result.http_status, "message": result.message,
                         "messageText": say(result.words) or result.message, "durationMs": result.duration_ms})

    @extend_schema(tags=["integrations"], request=SyncRequestSerializer, responses={202: dict, 200: dict, 409: dict})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Start a run (202 {"logId", "status": "running"}; 409 with the running logId), or
        with {"dryRun": true} answer what an import would change, changing nothing (200)."""
        integration = self.get_object()
        body = SyncRequestSerializer(data=request.data if request.data is not None else {})
        body.is_valid(raise_exception=True)
        try:
            if body.validated_data.get("dry_run"):
                result = sync.sync_dry_run(integration=integration)
                return Response({"dryRun": True, "summary": result.summary, "records": result.records,
                                 "pages": result.pages, "truncated": result.truncated})
            entry = sync.sync_request(integration=integration, full=body.validated_data.get("full", False))
        except sync.SyncNotConfigured as exc:
            return error_response(400, str(exc), "sync_not_configured")
        except ProviderError as exc:  # a dry run calls the provider within the request
            return error_response(502, f"The provider could not be read: {exc}", "provider_unavailable")
        except sync.RunBusy as exc:
            payload = error_body(409, "A sync of this integration is already running.", "sync_running")
            payload["error"]["logId"] = str(exc.log_id) if exc.log_id else None
            payload["logId"] = payload["error"]["logId"]
            return Response(payload, status=status.HTTP_409_CONFLICT)
        return Response({"logId": str(entry.pk), "status": entry.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(tags=["integrations"], request=dict, responses={202: dict, 502: dict})
    @action(detail=True, methods=["post"], url_path="exports")
    def exports(self, request, pk=None):
        """Start a design export at the provider ({"designId", "format": "pdf"|"png"}): 202 with the job."""
        integration = self.get_object()
        body = request.data if isinstance(request.data, dict) else {}
        try:
            job = design_exports.design_export_start(  # the camelCase parser made designId design_id
                integration=integration, design_id=body.get("design_id", body.get("designId")), fmt=body.get("format"))
        except design_exports.ExportRefused as exc:
            return error_response(400, str(exc), "invalid", {exc.field: [str(exc)]})
        except design_exports.ExportFailed as exc:
            return error_response(502, f"The provider did not start the export: {exc}", "provider_unavailable")
        return Response(_export_job(job), status=status.HTTP_202_ACCEPTED)

    @extend_schema(tags=["integrations"], responses={200: dict, 502: dict})
    @action(detail=True, methods=["get"], url_path=r"exports/(?P<job_id>[^/]+)")
    def export_status(self, request, pk=None, job_id: str = ""):
        """The export job's state now (members may read it): status, and the download URLs once done."""
        integration = self.get_object()
        try:
            job = design_exports.design_export_status(integration=integration, job_id=job_id)
        except design_exports.ExportRefused as exc:
            return error_response(400, str(exc), "invalid", {exc.field: [str(exc)]})
        except design_exports.ExportFailed as exc:
            return error_response(502, f"The provider did not answer: {exc}", "provider_unavailable")
        return Response(_export_job(job))

    @extend_schema(tags=["integrations"], responses={200: StatusSerializer})
    @action(detail=True, methods=["get"], url_path="status")
    def sync_status(self, request, pk=None):
        return Response(StatusSerializer(selectors.integration_status(integration=self.get_object())).data)

    @extend_schema(
        tags=["integrations"], responses={200: IntegrationLogSerializer(many=True)},
        parameters=[IntegrationLogFilterSerializer],
        description="The integration's logs, newest first. Keyset pages: `next` / `previous` are `?cursor=` links"
                    " (constant cost at any depth); `count` is exact up to 10,000 and 10,000 above it, with"
                    " `countCapped: true`; `?page=` reaches the pages within that count.",
    )
    @action(detail=True, methods=["get"], pagination_class=LogPagination)
    def logs(self, request, pk=None):
        integration = self.get_object()
        filters = IntegrationLogFilterSerializer.parse(request.query_params)
        paginator = LogPagination(selectors.LOG_ORDER)
        rows = paginator.paginate(selectors.integration_logs(integration=integration, **filters), request)
        return paginator.get_paginated_response(IntegrationLogSerializer(rows, many=True).data)

    @extend_schema(tags=["integrations"], request=MappingPreviewSerializer,
                   responses={200: MappingPreviewOutputSerializer}, operation_id="integrationsMappingsPreview")
    @action(detail=True, methods=["post"], url_path="mappings/preview")
    def mappings_preview(self, request, pk=None):
        """What a sample record becomes both ways under the integration's field mapping."""
        integration = self.get_object()
        body = MappingPreviewSerializer(data=request.data, context={"integration": integration})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            preview = mapping_preview(
                integration=integration, local_entity=data["local_entity"], remote_entity=data["remote_entity"],
                local=data.get("local"), remote=data.get("remote"), field_mappings=data.get("field_mappings"),
            )
        except PreviewError as exc:
            return error_response(400, str(exc), "invalid", {exc.field: [str(exc)]})
        return Response(MappingPreviewOutputSerializer({
            "to_remote": preview.to_remote, "to_local": preview.to_local, "notes": preview.notes,
            "mappings_source": preview.mappings_source,
        }).data)
