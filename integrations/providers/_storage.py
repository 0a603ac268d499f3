"""Settings shared by the three storage adapters (seed section ג, GoogleDriveConfig.settings;
Dropbox and OneDrive take the same shape)::

    {"rootFolderId", "rootFolderName", "folderStructure": "flat" | "by_project" | "by_client",
     "syncDocuments", "syncProposals", "syncContracts", "syncPhotos",
     "autoUploadDocuments", "autoImportFromFolder"}

``rootFolderId`` is the container a sync lists and uploads under (Drive: a folder id, "root"
for My Drive; Dropbox: a path such as "/Architect Studio", "" for the app folder's root;
OneDrive: a driveItem id, "root"). ``autoUploadDocuments`` / ``autoImportFromFolder`` are
the engine's ``autoCreateFiles`` / ``autoCreateDocuments``. ``syncDocuments: false`` leaves
the document pair out. The seed's ``direction`` lives in ``syncSettings`` (refused here).

The document kinds: a Document has a ``kind`` (document, proposal, contract, photo) and
``syncDocuments`` / ``syncProposals`` / ``syncContracts`` / ``syncPhotos`` say which kinds
sync (a flag that is absent means on; a new connection stores the seed's defaults, photos
off). A document of a kind turned off is not exported, and a new file whose kind is turned
off is not imported; records already linked keep syncing. An imported file's kind comes
from its MIME type (``image/*``: photo, else document); the studio can change it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

FOLDER_STRUCTURES = ("flat", "by_project", "by_client")
#: A document kind -> the setting that syncs it.
KIND_FLAGS = {"document": "syncDocuments", "proposal": "syncProposals", "contract": "syncContracts",
              "photo": "syncPhotos"}
FLAGS = ("syncDocuments", "syncProposals", "syncContracts", "syncPhotos", "autoUploadDocuments",
         "autoImportFromFolder")
TEXTS = ("rootFolderId", "rootFolderName")
MAX_TEXT = 1000

#: The document <-> file mapping of the three storage providers (remote fields as each adapter
#: shapes its raw record: Drive's File resource names, which the Dropbox and Graph adapters copy).
STORAGE_MAPPING: list[dict[str, Any]] = [
    {"localEntity": "document", "localField": "name", "remoteField": "name"},
    {"localEntity": "document", "localField": "description", "remoteField": "description"},
    {"localEntity": "document", "localField": "mimeType", "remoteField": "mimeType"},
    # The provider's alone: a document's own file URL (where the platform keeps it) stays.
    {"localEntity": "document", "localField": "sizeBytes", "remoteField": "size",
     "transformConfig": {"direction": "import"}},
    {"localEntity": "document", "localField": "fileUrl", "remoteField": "webViewLink",
     "transformConfig": {"direction": "import"}},
    # A new file's kind (its MIME type's, ``file_kind``): the studio's own choice is never overwritten.
    {"localEntity": "document", "localField": "kind", "remoteField": "documentKind",
     "transformConfig": {"direction": "import"}},
]


def file_kind(mime_type: Any) -> str:
    """The document kind of a file at the provider: photos by MIME type, else a document."""
    return "photo" if isinstance(mime_type, str) and mime_type.startswith("image/") else "document"


class StorageSettings:
    """Mixin for a ProviderAdapter (listed first): the storage settings, containers and flags."""

    carries_files = True
    setting_aliases = {"autoCreateFiles": "autoUploadDocuments", "autoCreateDocuments": "autoImportFromFolder",
                       "autoCreateDriveItems": "autoUploadDocuments"}
    #: The container when ``rootFolderId`` is empty (each provider's root).
    default_root = "root"
    #: The provider's name of a file (the remote type paired with ``document``).
    file_type = "file"
    #: STORAGE_MAPPING's remote fields the provider's files lack.
    missing_fields: tuple[str, ...] = ()

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        if (local_type, remote_type) != ("document", self.file_type):
            return []
        return [dict(m) for m in STORAGE_MAPPING if m["remoteField"] not in self.missing_fields]

    def sync_containers(self, settings: Mapping[str, Any]) -> tuple[str, ...] | None:
        root = settings.get("rootFolderId") if isinstance(settings, Mapping) else None
        return (root if isinstance(root, str) and root else self.default_root,)

    def syncs_record(self, local_type: str, values: Mapping[str, Any], settings: Mapping[str, Any]) -> bool:
        if local_type != "document":
            return True
        kind = values.get("kind") if isinstance(values, Mapping) else None
        setting = KIND_FLAGS.get(kind if isinstance(kind, str) else "document", "syncDocuments")
        return not isinstance(settings, Mapping) or settings.get(setting) is not False

    def settings_defaults(self) -> dict[str, Any]:
        return {"rootFolderId": "", "rootFolderName": "", "folderStructure": "flat", "syncDocuments": True,
                "syncProposals": True, "syncContracts": True, "syncPhotos": False,
                "autoUploadDocuments": True, "autoImportFromFolder": True}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        if not isinstance(value, Mapping):
            return {"settings": [_("must be an object")]}
        errors: dict[str, list[str]] = {}
        known = {*FLAGS, *TEXTS, "folderStructure"}
        for key in sorted(set(value) - known):
            errors[str(key)[:100]] = [_("unknown setting (known: %(known)s)") % {"known": ", ".join(sorted(known))}]
        for key in TEXTS:
            if key in value and (not isinstance(value[key], str) or len(value[key]) > MAX_TEXT):
                errors[key] = [_("must be a string of at most %(n)s characters") % {"n": MAX_TEXT}]
        if "folderStructure" in value and value["folderStructure"] not in FOLDER_STRUCTURES:
            errors["folderStructure"] = [_("must be one of %(choices)s") % {"choices": ", ".join(FOLDER_STRUCTURES)}]
        for key in FLAGS:
            if key in value and not isinstance(value[key], bool):
                errors[key] = [_("must be true or false")]
        return errors
