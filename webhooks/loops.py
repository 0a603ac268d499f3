"""No webhook loops (issue 10 item 6), in two layers.

1. **At save time** a target on the hub's own public origin is refused, for
   outgoing webhook URLs and forward action URLs alike, whatever
   ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` says: an outgoing webhook (or a forward)
   pointed at the hub's own incoming endpoint is the shortest loop there is.
   "Own" means PUBLIC_BASE_URL's host (any scheme and port; on a loopback
   host, which local development shares with other services, only the same
   port), and the names in ALLOWED_HOSTS (a leading dot covers subdomains, as
   in Django; ``*`` and loopback names say nothing about what is ours and are
   skipped).
2. **On the wire** every outgoing request carries :data:`HOPS_HEADER`: 1 for
   an original send (outgoing webhooks, test sends), the incoming request's
   value + 1 for a forward. The incoming endpoint stores a request whose
   counter is over ``WEBHOOK_MAX_HOPS`` (default 3) as dropped, answers 202
   (so the sender does not retry) and runs no actions. This catches the
   loops the first layer cannot see: another name or address of the hub, or
   two hubs forwarding to each other.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Final

from django.conf import settings
from django.utils.translation import gettext_noop as N_

from architect_studio.env import setting_int
from core import outbound
from core.words import Words, english, words

HOPS_HEADER: Final[str] = "X-Webhook-Hops"

#: Digits beyond this are not parsed (a huge value is over any limit anyway).
_MAX_DIGITS: Final[int] = 9


def max_hops() -> int:
    """WEBHOOK_MAX_HOPS: an incoming request with a hop counter above this is dropped (default 3)."""
    return setting_int("WEBHOOK_MAX_HOPS", 3)


def hops_of(headers: Mapping[str, str] | None) -> int:
    """The hop counter a request arrived with (0 when absent or not a number)."""
    for name, value in (headers or {}).items():
        if str(name).lower() == HOPS_HEADER.lower():
            text = str(value).strip()
            if not text.isascii() or not text.isdigit():
                return 0
            return int(text) if len(text) <= _MAX_DIGITS else 10**_MAX_DIGITS
    return 0


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = outbound.host_as_ip(host)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def own_origin_reason(url: str) -> str | None:
    """Why ``url`` is the hub itself (English), or None (:func:`own_origin_words`)."""
    said = own_origin_words(url)
    return english(said) if said is not None else None


def own_origin_words(url: str) -> Words | None:
    """Why ``url`` is the hub itself, as words (core.words), or None. Static (no DNS): the hop
    counter covers the rest."""
    target = outbound.origin(url)
    public = outbound.origin(settings.PUBLIC_BASE_URL)
    if target is None:
        return None
    _scheme, host, port = target

    def own(setting: str) -> Words:
        return words(N_("this is the hub's own address; a webhook sent to it would loop (%(setting)s)"),
                     setting=setting)

    if public is not None:
        _pscheme, public_host, public_port = public
        if _is_loopback(public_host):
            if _is_loopback(host) and port == public_port:
                return own("PUBLIC_BASE_URL")
        elif host == public_host:
            return own("PUBLIC_BASE_URL")
    for pattern in settings.ALLOWED_HOSTS:
        name = str(pattern).strip().lower().rstrip(".")
        bare = name.lstrip(".").strip("[]")
        if not bare or name == "*" or _is_loopback(bare):
            continue
        if host == bare or (name.startswith(".") and host.endswith(name)):
            return own("ALLOWED_HOSTS")
    return None


def check_not_own_origin(url: str) -> None:
    """Raise :class:`outbound.OutboundRefused` for a target on the hub's own origin."""
    reason = own_origin_words(url)
    if reason:
        raise outbound.OutboundRefused(reason)


def webhook_source(headers: Mapping[str, str] | None) -> str:
    """The entity event ``source`` of a write made by an incoming request's action.

    The request's hop counter travels in it (``webhook:hops=2``), so the
    outgoing webhooks that event triggers count on from it: two hubs whose
    webhooks create entities on each other are a loop too.
    """
    hops = hops_of(headers)
    return "webhook" if hops == 0 else f"webhook:hops={hops}"


def hops_of_source(source: str | None) -> int:
    """The hop counter carried by an entity event's ``source`` (0 for the hub's own writes)."""
    _head, sep, tail = (source or "").partition(":hops=")
    return int(tail) if sep and tail.isascii() and tail.isdigit() and len(tail) <= _MAX_DIGITS else 0


def with_hops(headers: dict[str, str], hops: int) -> dict[str, str]:
    """``headers`` with the hop counter set to ``hops`` (any other spelling of the name dropped)."""
    out = {k: v for k, v in headers.items() if k.lower() != HOPS_HEADER.lower()}
    out[HOPS_HEADER] = str(hops)
    return out
