"""The provider HTTP client: 401 -> one forced refresh, 429/Retry-After, 5xx backoff with
jitter, base-URL overrides, redaction; and the Redis token bucket with priorities."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
import redis
import requests
import responses
from django.conf import settings as django_settings
from django.utils import timezone

from core.tenant_context import tenant_scope
from integrations import ratelimit
from integrations.client import ProviderClient, ProviderError, parse_retry_after
from integrations.models import Integration
from integrations.services import provider_app_set
from integrations.tokens import read_credentials
from tests.support.oauth import make_oauth_integration

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limiter_on_test_redis")]


class Sleeps:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _client(integration, **kwargs) -> ProviderClient:
    return ProviderClient.for_integration(integration, **kwargs)


def test_401_forces_one_refresh_and_retries_with_the_new_token(alice, hubspot_app, oauth_server):
    """Against the local OAuth server (tests/support/oauth_server): the provider expired the access
    token before the time we stored for it, so the API answers 401; the client forces one
    refresh with the real refresh token and retries with the token it got."""
    grant = oauth_server.issue_tokens()
    integration = make_oauth_integration(alice, "hubspot", access=grant["access_token"], refresh=grant["refresh_token"])
    oauth_server.expire_access(grant["access_token"])  # we still think it lives an hour
    version = integration.token_version
    before = oauth_server.stats()
    # when
    with tenant_scope(alice.tenant.id):
        result = _client(integration).test_connection()
    # then: one 401 with the expired token, one refresh, one 200 with the new token
    after = oauth_server.stats()
    assert (result.status, result.attempts) == (200, 2)
    assert result.data["portalId"] == 62515
    assert after.get("resource_401", 0) - before.get("resource_401", 0) == 1
    assert after.get("resource_200", 0) - before.get("resource_200", 0) == 1
    assert after.get("refresh_token", 0) - before.get("refresh_token", 0) == 1
    with tenant_scope(alice.tenant.id):
        stored = Integration.objects.get(pk=integration.pk)
        creds = read_credentials(stored)
    assert stored.token_version == version + 1
    assert creds.access_token != grant["access_token"] and creds.refresh_token != grant["refresh_token"]
    assert oauth_server.accepts(creds.access_token) and not oauth_server.accepts(grant["access_token"])


@responses.activate
def test_second_401_is_returned_not_looped(alice):
    provider_app_set(provider_id="google_drive", client_id="c", client_secret="s")
    integration = make_oauth_integration(alice, "google_drive")
    responses.get("https://www.googleapis.com/drive/v3/about?fields=user", status=401, json={})
    responses.post("https://oauth2.googleapis.com/token", json={"access_token": "x", "expires_in": 3599})
    with tenant_scope(alice.tenant.id):
        result = _client(integration).test_connection()
    assert result.status == 401 and result.attempts == 2


@responses.activate
def test_429_honours_retry_after_and_closes_the_shared_bucket(alice):
    integration = make_oauth_integration(alice, "hubspot")
    url = "https://api.hubapi.com/account-info/v3/details"
    responses.get(url, status=429, headers={"Retry-After": "2"}, json={"status": "error", "policyName": "TEN_SECONDLY_ROLLING"})
    responses.get(url, json={"portalId": 1})
    clock, sleeps = Clock(timezone.now().timestamp()), Sleeps()

    def sleep(seconds):
        sleeps(seconds)
        clock.now += seconds

    with tenant_scope(alice.tenant.id):
        client = _client(integration, sleep=sleep, limiter=ratelimit.RateLimiter(clock=clock, sleep=sleep))
        result = client.request("GET", "/account-info/v3/details")
    blocked = redis.Redis.from_url(django_settings.CELERY_BROKER_URL).hget(client.bucket.key, "blocked_until")
    assert result.status == 200 and result.attempts == 2
    assert sum(sleeps.calls) == pytest.approx(2.0, abs=0.05)
    assert float(blocked) == pytest.approx(clock.now, abs=0.05)


@responses.activate
def test_5xx_backs_off_exponentially_with_jitter_then_gives_up(alice):
    integration = make_oauth_integration(alice, "hubspot")
    url = "https://api.hubapi.com/crm/v3/objects/contacts"
    responses.get(url, status=503, json={"status": "error"})
    sleeps = Sleeps()
    with tenant_scope(alice.tenant.id):
        result = _client(integration, sleep=sleeps, max_retries=3, backoff_base=0.5).request("GET", "/crm/v3/objects/contacts")
    assert result.status == 503 and result.attempts == 4
    assert len(sleeps.calls) == 3
    assert all(0 <= s <= cap for s, cap in zip(sleeps.calls, (0.5, 1.0, 2.0), strict=True))


@responses.activate
def test_non_idempotent_post_is_not_retried_on_5xx(alice):
    integration = make_oauth_integration(alice, "hubspot")
    responses.post("https://api.hubapi.com/crm/v3/objects/contacts", status=500, json={})
    with tenant_scope(alice.tenant.id):
        result = _client(integration, sleep=Sleeps()).request("POST", "/crm/v3/objects/contacts", json={"properties": {}})
    assert (result.status, result.attempts, len(responses.calls)) == (500, 1, 1)


@responses.activate
def test_network_error_is_classified_without_secrets(alice):
    integration = make_oauth_integration(alice, "hubspot", access="very-secret-token")
    responses.get("https://api.hubapi.com/x", body=requests.ConnectionError("boom"))
    with tenant_scope(alice.tenant.id), pytest.raises(ProviderError) as caught:
        _client(integration, sleep=Sleeps(), max_retries=1).request("GET", "/x")
    assert caught.value.kind == "network"
    assert "very-secret-token" not in str(caught.value) + json.dumps(caught.value.snapshots)


@responses.activate
def test_api_base_override_replaces_origin_and_snapshots_are_redacted(alice):
    provider_app_set(provider_id="quickbooks", api_base_url="https://sandbox-quickbooks.api.intuit.com")
    integration = make_oauth_integration(alice, "quickbooks", access="qb-token-123456", config={"realmId": "9130"})
    url = "https://sandbox-quickbooks.api.intuit.com/v3/company/9130/query"
    responses.get(url, json={"QueryResponse": {}, "echo": "qb-token-123456"})
    with tenant_scope(alice.tenant.id):
        result = _client(integration).request("GET", "/query", params={"query": "select * from Customer",
                                                                          "key": "AIzaSyD-secret", "access_token": "t"})
    assert responses.calls[0].request.url.startswith(url + "?")
    snap = json.dumps([result.request_snapshot, result.response_snapshot])
    assert "AIzaSyD-secret" not in result.request_snapshot["url"]
    assert result.request_snapshot["url"] == "https://sandbox-quickbooks.api.intuit.com/v3/company/9130/query"
    assert "qb-token-123456" not in snap
    assert result.response_snapshot["body"]["echo"] == "[redacted]"


def test_redact_url_hides_sensitive_query_params_and_known_secrets():
    from integrations.audit import redact_url

    url = "https://lb1.wizcloud.co.il/createSession/PRIVATE-KEY-1/db?key=abc&page=2&client_secret=x&code=y"
    assert redact_url(url, ["PRIVATE-KEY-1"]) == (
        "https://lb1.wizcloud.co.il/createSession/[redacted]/db?key=[redacted]&page=2&client_secret=[redacted]&code=[redacted]"
    )


def test_parse_retry_after_seconds_and_http_date():
    future = (timezone.now() + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after("7", 1.0) == 7.0
    assert 28 <= parse_retry_after(future, 1.0) <= 30
    assert parse_retry_after("garbage", 1.5) == 1.5


# ----------------------------------------------------------------- the token bucket
class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_bucket_priorities_high_gets_the_reserve_low_stops_early():
    clock = Clock()
    bucket = ratelimit.bucket_for("stripe", "prio-test", 10, 1)  # 10 per second
    limiter = ratelimit.RateLimiter(clock=clock)
    low = sum(limiter.try_take(bucket, ratelimit.LOW)[0] for _ in range(20))
    normal = sum(limiter.try_take(bucket, ratelimit.NORMAL)[0] for _ in range(20))
    high = sum(limiter.try_take(bucket, ratelimit.HIGH)[0] for _ in range(20))
    assert (low, normal, high) == (7, 2, 1)  # LOW leaves 3, NORMAL leaves 1, HIGH takes the last
    _, wait_high = limiter.try_take(bucket, ratelimit.HIGH)
    _, wait_low = limiter.try_take(bucket, ratelimit.LOW)
    # 10 slots taken at one instant: no rolling second may hold an 11th (the provider's window),
    # so every priority waits for the first of them to leave the hub's window (1 s + margin)
    assert wait_high == pytest.approx(bucket.window) and wait_low == pytest.approx(bucket.window)
    clock.now += 0.11
    assert limiter.try_take(bucket, ratelimit.HIGH)[0] is False
    clock.now += bucket.window - 0.11
    assert limiter.try_take(bucket, ratelimit.HIGH)[0] is True


def test_bucket_is_shared_across_processes():
    """Two OS processes draw from one bucket: together they get exactly the capacity."""
    code = (
        "import sys, redis, time;"
        "sys.path.insert(0, '.');"
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='architect_studio.settings.test'; django.setup();"
        "from integrations import ratelimit;"
        f"lim = ratelimit.RateLimiter({django_settings.CELERY_BROKER_URL!r}, clock=lambda: 5_000_000.0);"
        "b = ratelimit.bucket_for('xero', 'shared-test', 60, 60);"
        "print(sum(lim.try_take(b, ratelimit.HIGH)[0] for _ in range(40)))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    counts = [int(p.communicate(timeout=60)[0].strip()) for p in procs]
    assert sum(counts) == 60 and all(c >= 20 for c in counts)


def test_acquire_waits_then_raises_when_wait_exceeds_budget():
    clock = Clock()
    sleeps = Sleeps()

    def sleep(seconds):
        sleeps(seconds)
        clock.now += seconds

    limiter = ratelimit.RateLimiter(clock=clock, sleep=sleep)
    bucket = ratelimit.bucket_for("figma", "wait-test", 2, 60)  # 2 in any 60 s
    assert limiter.acquire(bucket, priority=ratelimit.HIGH) == 0.0
    assert limiter.acquire(bucket, priority=ratelimit.HIGH) == 0.0
    with pytest.raises(ratelimit.RateLimited):
        limiter.acquire(bucket, priority=ratelimit.HIGH, max_wait=5)
    waited = limiter.acquire(bucket, priority=ratelimit.HIGH, max_wait=70)
    assert 60 <= waited <= 62  # a third call only when the first has left the rolling minute (+ margin)
