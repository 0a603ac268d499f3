"""One log line per HTTP request, and the request id its other lines carry."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from core.logs import log_context

log = logging.getLogger("architect_studio.requests")

#: A caller's X-Request-ID is kept when it is a plain token (it ends up in logs).
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestLogMiddleware:
    """``GET /api/meetings 200 12 ms`` (path without the query string, which may
    carry a token); binds ``request_id`` for every record logged while serving,
    and answers it in ``X-Request-ID``. The request runs in a copy of the context,
    so what it binds (its tenant, its ids) ends with it, whatever the server's
    thread reuse."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        started = time.perf_counter()
        response = contextvars.copy_context().run(self._serve, request, request_id, started)
        response.headers.setdefault("X-Request-ID", request_id)
        return response

    def _serve(self, request, request_id: str, started: float):
        with log_context(request_id=request_id):
            response = self.get_response(request)
            if log.isEnabledFor(logging.INFO):
                log.info("%s %s %s %d ms", request.method, request.path, response.status_code,
                         (time.perf_counter() - started) * 1000)
        return response
