"""Standalone django-oauth-toolkit server: ``python server.py <port> <redirect_uri> <db_path>``.

* one user ``studio`` / ``studio-pass``, logged in by ``GET /test-login`` (a test-only shortcut
  for the consent screen's login);
* one confidential application (client ``hub-client`` / ``hub-secret``), authorization-code
  grant, PKCE required, ``skip_authorization=True`` so consent is automatic;
* rotating refresh tokens with no grace period: reusing an old refresh token is invalid_grant;
* ``POST /test-expire-access`` (``token=<access token>``): the server's side of that access
  token expires now (what a provider does when it shortens a lifetime or the clocks
  disagree); its refresh token keeps working;
* ``GET /test-stats`` counts token requests by grant type (for the one-refresh tests);
* ``GET /account-info/v3/details``: a protected resource (Bearer) standing in for the API;
  an unknown, expired or revoked token gets RFC 6750's ``401`` + ``WWW-Authenticate:
  Bearer error="invalid_token"`` (DOT's default is a bare 403), and ``/test-stats``
  counts its answers as ``resource_<status>``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from datetime import timedelta

import django
from django.conf import settings

PORT = int(sys.argv[1])
REDIRECT_URI = sys.argv[2]
DB_PATH = sys.argv[3]
CLIENT_ID, CLIENT_SECRET = "hub-client", "hub-secret"
ACCESS_TOKEN_SECONDS = int(os.environ.get("OAUTH_TEST_ACCESS_SECONDS", "3600"))

settings.configure(
    DEBUG=False,
    SECRET_KEY="oauth-test-server-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "oauth2_provider",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        __name__ + ".CountingMiddleware",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DB_PATH,
                           "OPTIONS": {"timeout": 30}}},
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    USE_TZ=True,
    LOGIN_URL="/test-login",
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    OAUTH2_PROVIDER={
        "PKCE_REQUIRED": True,
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
        "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_SECONDS,
        "SCOPES": {"read": "read", "write": "write"},
        "DEFAULT_SCOPES": ["read"],
    },
)
django.setup()

from django.contrib.auth import get_user_model, login  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from oauth2_provider.models import get_access_token_model, get_application_model  # noqa: E402
from oauth2_provider.views.generic import ProtectedResourceView  # noqa: E402

_lock = threading.Lock()
STATS: dict[str, int] = {}


class CountingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/o/token/" and request.method == "POST":
            key = request.POST.get("grant_type", "?")
            with _lock:
                STATS[key] = STATS.get(key, 0) + 1
        if request.path == "/o/revoke_token/" and request.method == "POST":
            with _lock:
                STATS["revoke"] = STATS.get("revoke", 0) + 1
        response = self.get_response(request)
        if request.path == "/account-info/v3/details":
            key = f"resource_{response.status_code}"
            with _lock:
                STATS[key] = STATS.get(key, 0) + 1
        return response


def test_login(request):
    user = get_user_model().objects.get(username="studio")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponse("ok")


@csrf_exempt
def expire_access(request):
    checksum = hashlib.sha256(request.POST["token"].encode()).hexdigest()
    expired = get_access_token_model().objects.filter(token_checksum=checksum).update(
        expires=timezone.now() - timedelta(seconds=1))
    return JsonResponse({"expired": expired}, status=200 if expired else 404)


def stats(request):
    with _lock:
        return JsonResponse(dict(STATS))


class AccountInfo(ProtectedResourceView):
    def get(self, request, *args, **kwargs):
        return JsonResponse({"portalId": 62515, "accountType": "STANDARD", "timeZone": "Asia/Jerusalem"})

    def unauthenticated_response(self, request, oauthlib_request=None):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("test-login", test_login),
    path("test-stats", stats),
    path("test-expire-access", expire_access),
    path("account-info/v3/details", AccountInfo.as_view()),
]


def main() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    if not User.objects.filter(username="studio").exists():
        User.objects.create_user("studio", "studio@example.com", "studio-pass")
    Application = get_application_model()
    if not Application.objects.filter(client_id=CLIENT_ID).exists():
        Application.objects.create(
            name="hub", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=REDIRECT_URI, skip_authorization=True, algorithm="",
        )
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import run

    sys.stdout.write("READY\n")
    sys.stdout.flush()
    run("127.0.0.1", PORT, WSGIHandler(), threading=True)


if __name__ == "__main__":
    main()
