"""What the webhook pages share: who is asking (membership, role) and how errors are shown."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from integrations.pages.common import membership_for


def page_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in studio users only; sets ``request.membership`` / ``request.tenant`` (and the
    transaction's RLS tenant). A POST by a member answers 403 unless the view is marked
    ``member_post`` (a preview, which changes nothing - as the API's ``member_actions``)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_for(request)
        if membership is None:
            raise Http404
        request.membership, request.tenant = membership, membership.tenant
        if request.method not in ("GET", "HEAD") and not membership.can_manage and not getattr(wrapper, "member_post", False):
            return forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper


def member_post(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    view.member_post = True  # type: ignore[attr-defined]
    return view


def forbidden(request: HttpRequest) -> HttpResponse:
    message = _("Only the studio's owners and admins may change webhooks; members can view them.")
    if request.headers.get("HX-Request"):
        return render(request, "webhooks/_message.html", {"kind": "error", "text": message}, status=403)
    return render(request, "webhooks/forbidden.html", {"message": message, "message_kind": "error"}, status=403)


def error_lines(detail: Any, prefix: str = "") -> list[str]:
    """A DRF ValidationError's detail (or a WebhookConfigError's fields) as "field: message" lines."""
    if isinstance(detail, dict):
        lines: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            lines += error_lines(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
        return lines
    if isinstance(detail, list | tuple):
        return [line for item in detail for line in error_lines(item, prefix)]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
