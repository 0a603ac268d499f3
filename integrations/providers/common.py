"""Mechanics several provider adapters share (each adapter keeps its provider's rules in its
own folder and calls these): reading an ISO time, an unusable answer as one failed item, the
JSON object of a checked answer, and default mapping rows. The adapter seam itself (types,
protocols, ``ProviderAdapter``, the cursor helpers) is ``integrations.providers.adapter``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.providers.adapter import Answer, CredentialsRefused


def instant(value: Any, *, naive_utc: bool = False) -> datetime | None:
    """An ISO 8601 time with its offset (``Z`` or ``+hh:mm``) as an aware datetime; anything
    else (not text, unreadable) is None, and so is a time without an offset unless the
    provider documents its times as UTC (``naive_utc``)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo:
        return parsed
    return parsed.replace(tzinfo=UTC) if naive_utc else None



def is_zone(name: Any) -> bool:
    """An IANA time zone name this machine knows (``Asia/Jerusalem``)."""
    if not isinstance(name, str) or not name or len(name) > 60:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class AnswerError(Exception):
    """An answer the sync cannot use, as one failed item: ``<provider> <what>: HTTP <status>
    (<detail>)``. Each provider's error subclasses it, names itself (``provider``) and picks
    the ``detail`` from its own error body -- never a token, a secret or a URL."""

    provider = "Provider"

    def __init__(self, what: str, status: int, detail: str = "") -> None:
        self.status = status
        super().__init__(f"{self.provider} {what}: HTTP {status}" + (f" ({detail})" if detail else ""))


def answer_data(response: Answer, what: str, *, error: Callable[[str, Answer], Exception],
                refused: str) -> dict[str, Any]:
    """The JSON object of an answer (``{}`` when it has none). A 401 raises
    ``CredentialsRefused(refused)`` (no token refresh cured it: the tenant reconnects);
    any other failure ``error(what, response)``."""
    if response.status == 401:
        raise CredentialsRefused(refused)
    if not response.ok:
        raise error(what, response)
    return response.data if isinstance(response.data, dict) else {}


def field_mappings(local_entity: str, fields: Mapping[str, str],
                   **transforms: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entity pair's default mapping rows, in ``fields``' order: local field -> remote
    field, a row also carrying ``transforms[<local field>]`` (``transform``/``transformConfig``)."""
    return [{"localEntity": local_entity, "localField": local, "remoteField": remote, **transforms.get(local, {})}
            for local, remote in fields.items()]


def link(entity: str) -> dict[str, Any]:
    """The ``link`` transform: the remote id of the linked record of ``entity`` <-> its hub id."""
    return {"transform": "link", "transformConfig": {"entity": entity}}
