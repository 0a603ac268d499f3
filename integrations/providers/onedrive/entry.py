"""OneDrive: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers import _microsoft
from integrations.providers.base import (
    ALL_DIRECTIONS,
    EntityPair,
    Provider,
    hub_default,
    logo_path,
)

PROVIDER = Provider(
    id="onedrive",
    category="storage",
    name_he="OneDrive",
    name_en="OneDrive",
    description_he="סנכרון מסמכי פרויקטים מול OneDrive / SharePoint דרך Microsoft Graph.",
    description_en="Sync project documents with OneDrive / SharePoint through Microsoft Graph.",
    logo=logo_path("onedrive"),
    auth_kind="oauth2",
    oauth=_microsoft.oauth("offline_access", "User.Read", "Files.ReadWrite"),
    api_base_url=_microsoft.GRAPH_API,
    test_endpoint=("GET", "/me/drive"),
    credential_fields=(),
    rate_limit=hub_default(
        600,
        60,
        "SharePoint/OneDrive throttle by resource units per app per tenant with no fixed "
        "public number (VERIFY); honour Retry-After on 429/503",
    ),
    webhook_scheme="graph",
    entity_pairs=(EntityPair("document", "driveItem", ALL_DIRECTIONS),),
    docs_url="https://learn.microsoft.com/graph/api/driveitem-delta",
    maturity="limited",
    maturity_note=(
        "Document <-> driveItem sync is built to the Graph v1.0 reference (root delta with "
        "next/delta links and 410 resyncRequired, simple PUT up to 4 MB, upload sessions in "
        "320 KiB multiples without the Authorization header, If-Match eTags, drive-root "
        "subscriptions) and tested against a fake made from those pages, never against "
        "Microsoft itself. Unverified or partial: delta follows the whole drive (Business and "
        "SharePoint support delta only on the root), so a large drive costs a long first "
        "listing; no hub id is stamped on an item (a re-connect pairs records by name and "
        "size); a document moved to another project or client later keeps its file in the "
        "folder it went to first; an imported file's kind comes from its MIME type only (photo "
        "or document); a file replaced in place at the same address with the same size is not "
        "seen as changed."
    ),
    notes=(
        "Incremental sync: /me/drive/root/delta (token=latest to start from now); 410 "
        "resyncRequired means re-enumerate; deleted items carry the 'deleted' facet. "
        "driveItem subscriptions last under 30 days and support only changeType=updated."
    ),
)
