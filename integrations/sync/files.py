"""Records with files (issue 15 item 1): what the engine adds for storage providers.

A storage adapter (``carries_files``) exports a document as a file: the engine resolves the
folder the integration's ``folderStructure`` names under its root folder (``flat``: the
root; ``by_project`` / ``by_client``: one sub-folder per project / client name the document
carries), creating each folder once through ``adapter.ensure_folder`` and remembering it
(an ``ExternalLink`` of local type ``folder``: tenant-scoped like every link, gone with the
integration), then opens the document's ``fileUrl`` as a stream through the hub's hardened
HTTP (``core.outbound.stream_get``: address checks, pinning, no redirects, a wall-clock
deadline, a size cap) and hands it to ``push_create`` as ``FileContent``. The adapter reads
it chunk by chunk (Drive resumable session, Dropbox upload session, Graph upload session),
so the file is never whole in memory.

A document without a file is created as an empty file of its name (the provider then holds
its name and description; the content follows when the document gets a file).

A document's file that changed after its upload is uploaded again (``upload_changed``: the
same remote file, a new version -- Drive ``files.update`` with media, Dropbox ``mode:
update`` with the rev, OneDrive content ``PUT`` with ``If-Match``). What was uploaded is
remembered on the link as ``file_fingerprint``: the document's ``fileUrl`` and -- when the
platform's ``sizeBytes`` differs from the size the provider reported -- that size; so a new
file address, or a file replaced in place with a new size, is a change, while an import
taking the provider's new size is not. A document whose ``fileUrl`` is the provider's own
link (imported from there) has nothing to upload. Both sides changed (the provider's version
moved on too): the integration's ``conflictPolicy`` decides (``newest_wins``: the document's
``updatedAt`` against the file's modification time) -- local: uploaded over the newer
version; remote: the document's file becomes the provider's (its ``fileUrl`` the provider's
link), and the conflict is in the run's log.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop as N_

from core.outbound import DownloadFailed, stream_get
from core.tenant_context import tenant_scope
from core.words import SaidError, words
from integrations.models import ExternalLink
from integrations.providers.adapter import FileContent, RemoteChange
from integrations.sync_state import content_hash

# settings.SYNC_MAX_FILE_BYTES: the largest file a sync uploads (Drive takes 5 TB, Dropbox
# 350 GB, OneDrive 250 GB); settings.SYNC_FILE_TRANSFER_SECONDS: the whole transfer (download
# from the platform and upload to the provider) ends within it.
FOLDER = "folder"
#: The document field that names its folder under each structure (the Document's
#: ``projectName`` and its client's name, ``clientName``; a document without one goes to the
#: root folder). A document moved to another project or client later keeps its file where it is.
STRUCTURE_FIELDS = {"by_project": ("projectName", "project"), "by_client": ("clientName", "client")}
MAX_FOLDER_NAME = 200


class FileUnavailable(SaidError):
    """The document's file could not be read (the run records it as a failed item and retries);
    its words (core.words) carry the download's own, so a page says both in its reader's language."""

    @classmethod
    def of(cls, exc: DownloadFailed) -> FileUnavailable:
        return cls(words(N_("the document's file could not be read: %(error)s"), error=exc.words or str(exc)))


def folder_path(structure: str, snapshot: Mapping[str, Any]) -> tuple[str, ...]:
    """The folders under the root a document goes to."""
    for key in STRUCTURE_FIELDS.get(structure, ()):
        value = snapshot.get(key)
        if isinstance(value, str) and value.strip():
            return (_folder_name(value),)
    return ()


def _folder_name(value: str) -> str:
    # "/" and "\\" separate paths at Dropbox and OneDrive; control characters are refused by all three.
    cleaned = "".join(" " if ch in "/\\" or ord(ch) < 32 else ch for ch in value).strip().strip(".")
    return (cleaned or "_")[:MAX_FOLDER_NAME]


def _folder_key(integration_id: Any, root: str, path: tuple[str, ...]) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"architect-studio:{integration_id}:{root}:{'/'.join(path)}")


def resolve_folder(job: Any, *, root: str, path: tuple[str, ...]) -> str:
    """The provider's id of ``root``/``path``: remembered, else found-or-created once per level."""
    integration = job.plan.integration
    parent = root
    for depth in range(1, len(path) + 1):
        key = _folder_key(integration.pk, root, path[:depth])
        with tenant_scope(job.tenant_id):
            known = ExternalLink.objects.filter(tenant_id=job.tenant_id, integration=integration, local_type=FOLDER,
                                                local_id=key).values_list("remote_id", flat=True).first()
        if known:
            parent = known
            continue
        folder_id = job.plan.adapter.ensure_folder(job.client, parent=parent, name=path[depth - 1])
        with tenant_scope(job.tenant_id):
            ExternalLink.objects.update_or_create(
                tenant_id=job.tenant_id, integration=integration, local_type=FOLDER, local_id=key,
                defaults={"remote_type": FOLDER, "remote_id": folder_id, "remote_container": parent[:500]})
        parent = folder_id
    return parent


def forget_folders(job: Any) -> None:
    """A remembered folder the provider no longer has: found or created again on the next export."""
    with tenant_scope(job.tenant_id):
        ExternalLink.objects.filter(tenant_id=job.tenant_id, integration=job.plan.integration,
                                    local_type=FOLDER).delete()


@contextmanager
def document_file(snapshot: Mapping[str, Any], *, name: str) -> Iterator[FileContent]:
    """The document's file as ``FileContent``, streamed from its ``fileUrl`` (none: empty)."""
    url = snapshot.get("fileUrl") or ""
    mime = str(snapshot.get("mimeType") or "application/octet-stream")
    if not url:
        yield FileContent(name=name, mime_type=mime, size=0, chunks=lambda n: iter(()))
        return
    limit = int(settings.SYNC_MAX_FILE_BYTES)
    try:
        with stream_get(url, timeout=float(settings.SYNC_FILE_TRANSFER_SECONDS),
                        allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS, max_bytes=limit) as download:
            size = download.size if download.size is not None else snapshot.get("sizeBytes")
            yield FileContent(name=name, mime_type=mime, size=size if isinstance(size, int) else None,
                              chunks=_guarded(download.chunks))
    except DownloadFailed as exc:
        raise FileUnavailable.of(exc) from None


def _guarded(chunks):
    def read(n: int) -> Iterator[bytes]:
        try:
            yield from chunks(n)
        except DownloadFailed as exc:
            raise FileUnavailable.of(exc) from None
    return read


def upload_new(job: Any, *, record: Mapping[str, Any], snapshot: Mapping[str, Any], hub_id: str) -> RemoteChange:
    """Create the document's file at the provider, in its folder; returns the created file."""
    provider_settings = job.plan.integration.settings or {}
    root = job.plan.home_container
    path = folder_path(str(provider_settings.get("folderStructure") or "flat"), snapshot)
    name = str(record.get("name") or snapshot.get("name") or hub_id)
    folder = resolve_folder(job, root=root, path=path)
    with document_file(snapshot, name=name) as content:
        return job.plan.adapter.push_create(job.client, container=folder, record=record, hub_id=hub_id,
                                            content=content)


def file_fingerprint(snapshot: Mapping[str, Any], synced: Mapping[str, Any]) -> str:
    """Which file the document has: its ``fileUrl`` and its size where that is its own (not
    the size the provider reported, ``synced``); "" for a document without a file."""
    url = snapshot.get("fileUrl") or ""
    if not url:
        return ""
    size = snapshot.get("sizeBytes")
    own_size = None if size is None or size == (synced or {}).get("sizeBytes") else size
    return content_hash({"fileUrl": url, "sizeBytes": own_size})


def file_changed(snapshot: Mapping[str, Any], link: ExternalLink) -> bool:
    """The document's file is not the one the provider holds (uploaded since, or never)."""
    synced = link.last_synced or {}
    url = snapshot.get("fileUrl") or ""
    if not url or url == synced.get("fileUrl"):
        return False  # no file, or the provider's own (the document was imported from there)
    return file_fingerprint(snapshot, synced) != link.file_fingerprint


def upload_changed(job: Any, *, link: ExternalLink, record: Mapping[str, Any], snapshot: Mapping[str, Any],
                   version: str | None) -> RemoteChange:
    """The document's new file into the linked remote file (a new version of it), conditional
    on ``version`` (``VersionConflict`` when the provider's copy changed since)."""
    name = str(record.get("name") or snapshot.get("name") or link.local_id)
    with document_file(snapshot, name=name) as content:
        return job.plan.adapter.push_content(job.client, container=link.remote_container, remote_id=link.remote_id,
                                             record=record, content=content, version=version)
