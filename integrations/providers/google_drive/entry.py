"""Google Drive: the catalog entry (what the hub knows before it calls; see ../README.md)."""

from __future__ import annotations

from integrations.providers import _google
from integrations.providers.base import (
    ALL_DIRECTIONS,
    EntityPair,
    Provider,
    RateLimit,
    logo_path,
)

PROVIDER = Provider(
    id="google_drive",
    category="storage",
    name_he="Google Drive",
    name_en="Google Drive",
    description_he="העלאה וייבוא של מסמכי פרויקטים לתיקייה ב-Google Drive.",
    description_en="Upload and import project documents to and from a Google Drive folder.",
    logo=logo_path("google_drive"),
    auth_kind="oauth2",
    # drive.file is non-sensitive: only files the app created or the user opened with it.
    # drive / drive.readonly are "restricted" (verification + yearly security assessment).
    oauth=_google.oauth("https://www.googleapis.com/auth/drive.file"),
    api_base_url=_google.API_BASE_URL,
    test_endpoint=("GET", "/drive/v3/about?fields=user"),
    credential_fields=(),
    rate_limit=RateLimit(
        1000,
        60,
        "seed PROVIDER_RATE_LIMITS (Google now meters quota units per project/user: "
        "https://developers.google.com/drive/api/guides/limits)",
    ),
    webhook_scheme="google_channel_token",
    entity_pairs=(EntityPair("document", "file", ALL_DIRECTIONS),),
    docs_url="https://developers.google.com/workspace/drive/api/guides/manage-changes",
    maturity="limited",
    maturity_note=(
        "Document <-> file sync is built to the Drive v3 reference (changes.list with start page "
        "tokens, files.list, multipart and resumable uploads, changes.watch) and tested against a "
        "fake made from those pages, never against Google itself. Unverified or partial: Drive has "
        "no If-Match on files, so a write is conditional on the version read just before it (not "
        "atomic; a changed file goes up as files.update with media); by_project / by_client folders "
        "are named once, so a document moved to another project or client later keeps its file "
        "where it is; an imported file's kind comes from its MIME type only (photo or document); "
        "a file replaced in place at the same address with the same size is not seen as changed; "
        "shared drives are not listed (no driveId / supportsAllDrives)."
    ),
    notes=(
        "Incremental sync: changes.getStartPageToken once, then changes.list with pageToken until "
        "newStartPageToken. With drive.file only app-touched files are visible (so 'import from "
        "folder' sees files the user picked or the app created). Channel expiry: files.watch "
        "about 1 day, changes.watch about 1 week (VERIFY)."
    ),
)
