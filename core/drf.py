"""DRF plumbing: pagination and the error envelope (imported by DRF settings; no viewsets here)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from djangorestframework_camel_case.util import camelize
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger("architect_studio.api")


class Pagination(pagination.PageNumberPagination):
    """`{count, next, previous, results}`; `?page=` and `?pageSize=` (max 200)."""

    page_size_query_param = "pageSize"
    max_page_size = 200

    def get_schema_operation_parameters(self, view):
        """The bounds the code enforces (400 outside them), stated in the schema."""
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "Page number (1-based); past the last page is 404.",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Results per page (default {self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param) or 1
        try:
            number = int(raw)
        except (TypeError, ValueError):
            raise exceptions.ValidationError({"page": ["must be a positive integer"]}) from None
        if number < 1:
            raise exceptions.ValidationError({"page": ["must be a positive integer"]})
        return number

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise exceptions.ValidationError({"pageSize": ["must be an integer between 1 and 200"]}) from None
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError({"pageSize": ["must be an integer between 1 and 200"]})
        return size


_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def error_body(status_code: int, message: str, code: str | None = None, fields: Any = None) -> dict:
    error: dict[str, Any] = {"code": code or _CODES.get(status_code, "error"), "message": message}
    if fields:
        error["fields"] = camelize(fields)
    return {"error": error}


def error_response(status_code: int, message: str, code: str | None = None, fields: Any = None) -> Response:
    return Response(error_body(status_code, message, code, fields), status=status_code)


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    """Every error as `{"error": {"code", "message", "fields"?}}`."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handler (JSON for /api/) takes it
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(exc, exceptions.ValidationError):
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = error_body(400, _first_message(detail), "invalid", fields)
    else:
        code = getattr(detail, "code", None) if not isinstance(detail, dict | list) else None
        response.data = error_body(response.status_code, _first_message(detail), code if isinstance(code, str) else None)
    return response


def json_error_view(status_code: int, message: str):
    def view(request, exception=None):
        return JsonResponse(error_body(status_code, message), status=status_code)

    return view


