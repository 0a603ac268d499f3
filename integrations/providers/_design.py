"""What the two design-tool adapters (Canva, Figma) share: the document <- design mapping, the
settings checks of id lists, and the one container a sync lists.

Both are import-only and have no change feed: every run lists what the studio picked (or all of
it) from the start, so the engine's full-listing reconciliation turns a design that disappeared
(deleted, unshared, moved out of the project) into a removed document. The thumbnail and link
the providers give are written to ``thumbnailUrl`` / ``fileUrl`` (Canva's thumbnail URLs expire
after a few hours; the next run refreshes them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from integrations.providers.common import field_mappings

#: The one container of a design sync (the picks and "all" live in the settings, not containers).
CONTAINER = "designs"
MAX_IDS = 500
ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

DESIGN_MAPPING: list[dict[str, Any]] = field_mappings("document", {"name": "name", "fileUrl": "link",
                                                                   "thumbnailUrl": "thumbnailUrl",
                                                                   "mimeType": "mimeType"})


def id_list_errors(value: Mapping[str, Any], key: str) -> dict[str, list[str]]:
    ids = value.get(key)
    if ids is None:
        return {}
    if not isinstance(ids, list) or len(ids) > MAX_IDS:
        return {key: [_("must be a list of at most %(n)s ids") % {"n": MAX_IDS}]}
    bad = [str(i)[:40] for i in ids if not isinstance(i, str) or not ID.match(i)]
    if bad:
        return {key: [_("not an id (letters, digits, '-', '_'): %(ids)s") % {"ids": ", ".join(bad[:5])}]}
    return {}


def unknown_errors(value: Mapping[str, Any], known: set[str]) -> dict[str, list[str]]:
    return {str(k)[:100]: [_("unknown setting (known: %(known)s)") % {"known": ", ".join(sorted(known))}] for k in sorted(set(value) - known)}
