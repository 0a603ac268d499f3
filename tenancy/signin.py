"""Studio sign-in: /login (email and password), /logout (POST), password reset by email.

Django's own auth views with the studio's Hebrew templates (templates/accounts/), not the
admin's login. The form finds the user by email (case-insensitive) and authenticates with
Django's backends; failures are counted per email and per address in Redis (shared by every
web process; the local cache when there is no Redis or it is down) and, past
LOGIN_FAILURE_LIMIT (per email) or ten times that (per address) within
LOGIN_FAILURE_WINDOW_SECONDS, the login answers 429 without checking the password.
"""

from __future__ import annotations

import hashlib
import logging

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.urls import path, reverse_lazy
from django.utils.translation import gettext_lazy as _

from core.redis_client import is_down, mark_down, redis_client
from tenancy.models import User

log = logging.getLogger("architect_studio.signin")
FAILURES_PREFIX = "hub:login-failures:"


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"), max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": _("The email or the password is wrong."),
        "inactive": _("This account is inactive."),
    }

    def clean(self):
        email = (self.cleaned_data.get("username") or "").strip()
        user = User.objects.filter(email__iexact=email).only("username").first()
        if user is not None:
            self.cleaned_data["username"] = user.username
        return super().clean()


def _keys(request, email: str) -> list[tuple[str, int]]:
    limit = settings.LOGIN_FAILURE_LIMIT
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    address = request.META.get("REMOTE_ADDR", "")
    return [(f"{FAILURES_PREFIX}email:{digest}", limit), (f"{FAILURES_PREFIX}addr:{address}", limit * 10)]


def _shared():
    url = settings.REDIS_URL
    if not url or is_down(url):
        return None
    return redis_client(url)


def _failures(key: str) -> int:
    shared = _shared()
    if shared is not None:
        try:
            return int(shared.get(key) or 0)
        except Exception:  # noqa: BLE001 - any Redis failure: count locally meanwhile
            if mark_down(settings.REDIS_URL):
                log.warning("login failures: Redis unavailable, counting in this process")
    return cache.get(key) or 0


def _count_failure(key: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    shared = _shared()
    if shared is not None:
        try:
            pipe = shared.pipeline()
            pipe.set(key, 0, ex=window, nx=True)  # the window starts at the first failure
            pipe.incr(key)
            pipe.execute()
            return
        except Exception:  # noqa: BLE001
            mark_down(settings.REDIS_URL)
    cache.add(key, 0, window)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, window)


class StudioLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        keys = _keys(request, request.POST.get("username", ""))
        if any(_failures(key) >= limit for key, limit in keys):
            # An unbound form: the password is not even checked.
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")[:254]})
            context = self.get_context_data(form=form, too_many=True)
            return self.render_to_response(context, status=429)
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form came back: a failed attempt
            for key, _limit in keys:
                _count_failure(key)
        return response


class StudioLogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]
    next_page = "/login"


urlpatterns = [
    path("login", StudioLoginView.as_view(), name="login"),
    path("logout", StudioLogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset_form.html",
        email_template_name="accounts/password_reset_email.txt",
        subject_template_name="accounts/password_reset_subject.txt",
        success_url=reverse_lazy("password_reset_done"),
    ), name="password_reset"),
    path("password-reset/done/", auth_views.PasswordResetDoneView.as_view(
        template_name="accounts/password_reset_done.html",
    ), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="accounts/password_reset_confirm.html",
        success_url=reverse_lazy("password_reset_complete"),
    ), name="password_reset_confirm"),
    path("password-reset/complete/", auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html",
    ), name="password_reset_complete"),
]
