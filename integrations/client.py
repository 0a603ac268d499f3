"""The provider HTTP client every adapter uses.

One ``ProviderClient`` per integration (or per unsaved set of credentials while
a tenant connects). Each request:

1. builds the URL from the catalog's ``api_base_url`` (or the ProviderApp's
   API-base override, which replaces the origin -- or the whole base when it
   has a path), filling ``{placeholders}`` from the connection's values;
2. waits for a token of the integration's Redis bucket (priority-aware,
   shared by all processes -- see ratelimit.py);
3. injects the provider's auth through its adapter (Bearer from ``ensure_valid_token``, Basic,
   provider headers);
4. classifies the answer: 401 on OAuth -> one forced refresh and one retry;
   429 -> wait ``Retry-After`` (closing the bucket for everyone) and retry;
   5xx / network errors -> exponential backoff with full jitter, only for
   idempotent requests; anything else goes back to the caller;
5. returns redacted request/response snapshots for IntegrationLog.

Every HTTP attempt has a wall-clock deadline (``timeout`` = (connect, whole
attempt) seconds, DNS lookup included) and its body is read with a cap
(``MAX_RESPONSE_BYTES``), both through ``core.outbound.DeadlineAdapter``:
a provider (or a tenant-typed server) that drips or never stops answering
cannot hold a sync worker or fill its memory.
"""

from __future__ import annotations

import json as jsonlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from django.conf import settings

from core import retry
from core.outbound import (
    DeadlineAdapter,
    HostResolutionError,
    HostResolutionTimeout,
    OutboundRefused,
    PinnedAdapter,
    ResponseTooLarge,
    deadline,
    pinned_host_header,
    resolve_and_check,
)
from integrations import oauth, ratelimit
from integrations.audit import redact_data, redact_url, safe_headers
from integrations.providers.catalog import Provider, get_provider
from integrations.providers.registry import adapter_for

USER_AGENT = "ArchitectStudio-IntegrationsHub/1.0"
#: (connect, whole attempt) seconds: an attempt — DNS, connect, TLS, request, body — ends by the second.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: Longest single backoff sleep between two tries of one request (seconds).
MAX_BACKOFF = 30.0
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PROPFIND", "REPORT"})
MAX_RESPONSE_BYTES = 5 * 1024 * 1024

# Placeholders that stand for a whole origin typed by the tenant (not URL-quoted,
# and resolved + checked against private addresses before each call).
_ORIGIN_PLACEHOLDERS = frozenset({"serverUrl", "baseUrl", "wizcloudServer"})
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

class ProviderError(Exception):
    """A call that did not produce a usable answer. ``kind``: ``config``, ``network``,
    ``rate_limited``, ``server``, ``auth``, ``expired``, ``refused``. No secrets inside."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, snapshots: tuple | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.snapshots = snapshots or (None, None)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str
    attempts: int
    request_snapshot: dict[str, Any]
    response_snapshot: dict[str, Any]
    data: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Connection:
    """What the client needs to know about one connection (saved or not)."""

    provider: Provider
    tenant_id: str
    integration_id: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # credential fields + connection_config
    oauth: bool = False

    def __repr__(self) -> str:
        return f"Connection(provider={self.provider.id!r}, integration_id={self.integration_id!r})"


def fill(template: str, values: Mapping[str, Any]) -> str:
    def repl(match: re.Match) -> str:
        name = match.group(1)
        value = values.get(name)
        if value in (None, ""):
            raise ProviderError("config", f"missing connection value {name!r}")
        value = str(value)
        if name in _ORIGIN_PLACEHOLDERS:
            return value.rstrip("/")
        return quote(value, safe="")

    return _PLACEHOLDER.sub(repl, template)


def effective_base_url(provider: Provider, override: str, values: Mapping[str, Any]) -> str:
    base = provider.api_base_url
    if provider.auth_kind == "caldav" and values.get("serverUrl"):
        base = "{serverUrl}"
    if override:
        o = urlsplit(override)
        if o.path.strip("/"):
            base = override.rstrip("/")
        else:
            b = urlsplit(base)
            base = urlunsplit((o.scheme, o.netloc, b.path, b.query, "")).rstrip("/")
    if not base:
        raise ProviderError("config", f"{provider.id} has no API base URL")
    return fill(base, values)


def secret_values(provider: Provider, values: Mapping[str, Any]) -> list[str]:
    names = {f.name for f in provider.credential_fields if f.kind == "password"}
    return [str(values[n]) for n in names if values.get(n)]


def parse_retry_after(value: str | None, default: float) -> float:
    """Seconds asked for by a ``Retry-After`` value (see :func:`core.retry.parse_retry_after`), else ``default``."""
    asked = retry.parse_retry_after(value)
    return default if asked is None else asked


class ProviderClient:
    def __init__(
        self,
        connection: Connection,
        *,
        limiter: ratelimit.RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        max_retry_after: float = 60.0,
        max_wait: float = 30.0,
    ):
        self.connection = connection
        self.provider = connection.provider
        self.adapter = adapter_for(self.provider)
        self.app = oauth.app_config(self.provider)
        self.limiter = limiter or ratelimit.RateLimiter(sleep=sleep)
        self.sleep = sleep
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_retry_after = max_retry_after
        self.max_wait = max_wait
        rl = self.provider.rate_limit
        self.bucket = ratelimit.bucket_for(
            self.provider.id, connection.integration_id or f"connect-{connection.tenant_id}", rl.requests, rl.per_seconds
        )
        self._session = requests.Session()
        self._session.trust_env = False  # no environment proxies between us and the provider
        for prefix in ("https://", "http://"):
            self._session.mount(prefix, DeadlineAdapter(**self._deadline_kwargs()))
        self._token: str | None = None
        self._token_version: int | None = None

    # ----------------------------------------------------------------- factories
    @classmethod
    def for_integration(cls, integration, **kwargs) -> ProviderClient:
        """Call inside the integration's tenant scope (decrypts its credentials)."""
        provider = get_provider(integration.provider)
        values: dict[str, Any] = dict(integration.connection_config or {})
        raw_key = integration.get_secret("api_key_encrypted")
        if raw_key:
            try:
                stored = jsonlib.loads(raw_key)
            except ValueError:
                stored = {"apiKey": raw_key}
            values.update(stored if isinstance(stored, dict) else {"apiKey": raw_key})
        values.update(adapter_for(provider).settings_values(integration.settings or {}))
        connection = Connection(
            provider=provider,
            tenant_id=str(integration.tenant_id),
            integration_id=str(integration.pk),
            values=values,
            oauth=integration.has_secret("oauth_encrypted"),
        )
        return cls(connection, **kwargs)

    # ----------------------------------------------------------------- helpers
    @property
    def base_url(self) -> str:
        return effective_base_url(self.provider, self.app.api_base_url, self.connection.values)

    @property
    def values(self) -> dict[str, Any]:
        return self.connection.values

    @property
    def hook_url(self) -> str | None:
        """The integration's own webhook URL (integrations.sync.hooks), for providers told per
        request where to call back (PayPlus refURL_callback, Cardcom WebHookUrl)."""
        if not self.connection.integration_id:
            return None
        return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/integrations/hooks/{self.connection.integration_id}"

    def _secrets(self) -> list[str]:
        found = secret_values(self.provider, self.connection.values)
        if self._token:
            found.append(self._token)
        return found

    def _access_token(self, *, force: bool = False) -> str:
        from integrations.models import Integration
        from integrations.tokens import TokenUnavailable, ensure_valid_token

        conn = self.connection
        try:
            self._token = ensure_valid_token(
                integration_id=conn.integration_id, tenant_id=conn.tenant_id, force=force,
                seen_version=self._token_version if force else None,
            )
        except TokenUnavailable as exc:
            raise ProviderError("expired" if exc.kind == "expired" else "auth", str(exc)) from None
        self._token_version = (
            Integration.objects.filter(pk=conn.integration_id).values_list("token_version", flat=True).first()
        )
        return self._token

    def _deadline_kwargs(self) -> dict[str, Any]:
        connect, whole = self.timeout
        return {"deadline": whole, "connect_timeout": connect, "max_response_bytes": MAX_RESPONSE_BYTES}

    def _check_origin(self, url: str) -> str | None:
        """Tenant-typed origins (CalDAV / Priority / custom API servers) must not reach private hosts.

        The checked address is pinned for the request (as core.outbound does), so a
        DNS answer that changes between the check and the connect (rebinding) cannot
        redirect the call; returns the Host header to send, or None when not pinned.
        """
        template = self.provider.api_base_url
        if not (any(f"{{{p}}}" in template for p in _ORIGIN_PLACEHOLDERS) or self.provider.auth_kind == "caldav"):
            return None
        if self.app.api_base_url:
            return None  # an operator-set override is trusted
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError("config", "the server URL must be an http(s) URL")
        try:
            with deadline(self.timeout[0]):  # the lookup counts as connecting
                addresses = resolve_and_check(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                              allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS)
        except OutboundRefused as exc:
            raise ProviderError("refused", f"refused to call that server: {exc.reason}") from None
        except HostResolutionTimeout:
            raise ProviderError("network", "the server's host name did not resolve in time (timeout)") from None
        except HostResolutionError:
            raise ProviderError("network", "the server's host name does not resolve") from None
        self._session.mount(f"{parts.scheme}://{parts.netloc}",
                            PinnedAdapter(addresses[0], parts.hostname, **self._deadline_kwargs()))
        return pinned_host_header(url)

    def _backoff(self, attempt: int) -> float:
        # Full jitter: uniform in [0, base * 2^(attempt-1)], capped at 30 s.
        return retry.full_jitter(retry.exponential(attempt, base=self.backoff_base, cap=MAX_BACKOFF))

    def _snapshots(self, method, url, headers, body, response=None, error=None) -> tuple[dict, dict | None]:
        secrets = self._secrets()
        req = {"method": method, "url": redact_url(url, secrets), "headers": safe_headers(headers, secrets)}
        if body is not None:
            req["body"] = redact_data(body, secrets)
        if response is None:
            return req, ({"error": error} if error else None)
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text[:4096]
        return req, {
            "status": response.status_code,
            "headers": safe_headers(dict(response.headers), secrets),
            "body": redact_data(payload, secrets),
        }

    # ----------------------------------------------------------------- the call
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        priority: int = ratelimit.NORMAL,
        idempotent: bool | None = None,
    ) -> ApiResponse:
        method = method.upper()
        values = self.connection.values
        url = path if path.startswith(("http://", "https://")) else self.base_url + fill(path, values)
        pinned_host = self._check_origin(url)
        idempotent = method in IDEMPOTENT if idempotent is None else idempotent
        body_for_log = json if json is not None else data
        if isinstance(body_for_log, bytes | bytearray):  # a file's bytes are never logged
            body_for_log = f"<{len(body_for_log)} bytes>"
        use_oauth = self.connection.oauth
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                self.limiter.acquire(self.bucket, priority=priority, max_wait=self.max_wait)
            except ratelimit.RateLimited as exc:
                raise ProviderError("rate_limited", str(exc)) from None
            token = (self._token or self._access_token()) if use_oauth else None
            sent_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
            sent_headers.update(self.adapter.auth_headers(values, token))
            sent_headers.update(headers or {})
            if pinned_host:
                sent_headers["Host"] = pinned_host
            try:
                response = self._session.request(
                    method, url, params=params, json=json, data=data, headers=sent_headers,
                    timeout=self.timeout, allow_redirects=False,
                )
            except ResponseTooLarge:
                raise ProviderError(
                    "server", f"{self.provider.name_en}: the answer is larger than {MAX_RESPONSE_BYTES} bytes",
                    snapshots=self._snapshots(method, url, sent_headers, body_for_log, error="response too large"),
                ) from None
            except requests.RequestException as exc:
                kind = "timeout" if isinstance(exc, requests.Timeout) else "connection error"
                if idempotent and attempt <= self.max_retries:
                    self.sleep(self._backoff(attempt))
                    continue
                raise ProviderError(
                    "network", f"{self.provider.name_en}: {kind}",
                    snapshots=self._snapshots(method, url, sent_headers, body_for_log, error=kind),
                ) from None
            status = response.status_code
            if status == 401 and use_oauth and not refreshed:
                refreshed = True  # the token may have been revoked early or rotated elsewhere
                self._access_token(force=True)
                continue
            if status == 429 and attempt <= self.max_retries:
                wait = parse_retry_after(response.headers.get("Retry-After"), self._backoff(attempt) + 1)
                if wait <= self.max_retry_after:
                    # Close the bucket for every process; acquire() above then does the waiting.
                    self.limiter.block(self.bucket, wait)
                    continue
            if status >= 500 and idempotent and attempt <= self.max_retries:
                self.sleep(self._backoff(attempt))
                continue
            req_snap, resp_snap = self._snapshots(method, url, sent_headers, body_for_log, response)
            try:
                parsed = response.json() if response.content else None
            except ValueError:
                parsed = None
            return ApiResponse(
                status=status, headers=dict(response.headers), text=response.text[:MAX_RESPONSE_BYTES],
                attempts=attempt, request_snapshot=req_snap, response_snapshot=resp_snap or {}, data=parsed,
            )

    # ----------------------------------------------------------------- test connection
    def test_connection(self) -> ApiResponse:
        """The provider's cheapest authenticated call (the adapter's ``test_call``); judge the
        answer with ``self.adapter.test_ok``."""
        call = self.adapter.test_call(self.connection.values)
        if call is None:
            raise ProviderError("config", f"{self.provider.name_en} documents no lightweight test call")
        return self.request(call.method, call.path, priority=ratelimit.HIGH, **call.kwargs)
