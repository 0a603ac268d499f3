"""Secrets at rest: AES-256-GCM with a versioned key ring.

Ciphertext layout (bytes)::

    0x01 | len(kid) | kid (ascii) | nonce (12) | ciphertext + tag (16)

* the key id travels with every ciphertext, so old keys keep decrypting after a
  rotation (``INTEGRATION_ENCRYPTION_OLD_KEYS``) until ``rotate_encryption_key``
  re-encrypts everything with the primary key;
* the associated data binds a ciphertext to its row and field
  (``"<table>:<row id>:<field>"``): a ciphertext copied to another row or column
  fails to decrypt instead of silently handing one tenant's token to another.

Keys come from ``INTEGRATION_ENCRYPTION_KEY`` as ``<kid>:<base64 of 32 bytes>``
(or the base64 alone; its kid is then derived from the key). Without a key,
development runs generate one into an ignored local file and warn.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets as pysecrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger("architect_studio.crypto")

VERSION = 1
NONCE_BYTES = 12


class CryptoError(Exception):
    """Raised for any failure; the message never contains key or plaintext material."""


@dataclass(frozen=True)
class Key:
    kid: str
    material: bytes

    def __repr__(self) -> str:  # never print key material
        return f"Key(kid={self.kid!r})"


def parse_key(spec: str) -> Key:
    spec = spec.strip()
    if ":" in spec:
        kid, b64 = spec.split(":", 1)
    else:
        kid, b64 = "", spec
    try:
        material = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("encryption key is not valid base64") from exc
    if len(material) != 32:
        raise CryptoError("encryption key must be 32 bytes (AES-256), base64-encoded")
    kid = kid or hashlib.sha256(material).hexdigest()[:8]
    if not kid.isascii() or len(kid) > 64 or not kid.replace("-", "").replace("_", "").isalnum():
        raise CryptoError("key id must be 1-64 ascii letters, digits, '-' or '_'")
    return Key(kid=kid, material=material)


def generate_key_spec(kid: str | None = None) -> str:
    kid = kid or "k" + pysecrets.token_hex(4)
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


class KeyRing:
    def __init__(self, primary: Key, old: list[Key] | None = None):
        self.primary = primary
        self._by_kid = {k.kid: k for k in (old or [])}
        self._by_kid[primary.kid] = primary

    def key(self, kid: str) -> Key:
        try:
            return self._by_kid[kid]
        except KeyError:
            raise CryptoError(f"no key with id {kid!r} in the key ring") from None

    def encrypt(self, plaintext: str | bytes, aad: str) -> bytes:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(NONCE_BYTES)
        kid = self.primary.kid.encode("ascii")
        body = AESGCM(self.primary.material).encrypt(nonce, data, aad.encode("utf-8"))
        return bytes([VERSION, len(kid)]) + kid + nonce + body

    def decrypt_bytes(self, blob: bytes | memoryview, aad: str) -> bytes:
        blob = bytes(blob)
        if len(blob) < 2 or blob[0] != VERSION:
            raise CryptoError("unknown ciphertext format")
        kid_len = blob[1]
        kid_end = 2 + kid_len
        if len(blob) < kid_end + NONCE_BYTES + 16:
            raise CryptoError("ciphertext too short")
        kid = blob[2:kid_end].decode("ascii", errors="replace")
        nonce = blob[kid_end : kid_end + NONCE_BYTES]
        try:
            return AESGCM(self.key(kid).material).decrypt(nonce, blob[kid_end + NONCE_BYTES :], aad.encode("utf-8"))
        except InvalidTag:
            raise CryptoError("ciphertext failed authentication (tampered, wrong key or wrong row)") from None

    def decrypt(self, blob: bytes | memoryview, aad: str) -> str:
        return self.decrypt_bytes(blob, aad).decode("utf-8")

    @staticmethod
    def kid_of(blob: bytes | memoryview) -> str | None:
        blob = bytes(blob)
        if len(blob) < 2 or blob[0] != VERSION:
            return None
        return blob[2 : 2 + blob[1]].decode("ascii", errors="replace")


def _dev_key_spec(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = generate_key_spec("dev")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(spec + "\n")
    log.warning(
        "INTEGRATION_ENCRYPTION_KEY is not set: generated a development key into %s. "
        "Set INTEGRATION_ENCRYPTION_KEY in production.",
        path,
    )
    return spec


@lru_cache(maxsize=1)
def key_ring() -> KeyRing:
    from django.conf import settings

    spec = settings.INTEGRATION_ENCRYPTION_KEY
    if not spec:
        if not settings.DEBUG and os.environ.get("DJANGO_ENV") == "production":
            raise CryptoError("INTEGRATION_ENCRYPTION_KEY must be set in production")
        spec = _dev_key_spec(Path(settings.DEV_KEY_FILE))
        if not getattr(key_ring, "_warned", False):
            log.warning("using the development encryption key from %s", settings.DEV_KEY_FILE)
            key_ring._warned = True
    old = [parse_key(s) for s in settings.INTEGRATION_ENCRYPTION_OLD_KEYS]
    return KeyRing(parse_key(spec), old)


def aad_for(table: str, row_id: object, field: str) -> str:
    return f"{table}:{row_id}:{field}"


def encrypt_for(table: str, row_id: object, field: str, plaintext: str) -> bytes:
    return key_ring().encrypt(plaintext, aad_for(table, row_id, field))


def decrypt_for(table: str, row_id: object, field: str, blob: bytes | memoryview) -> str:
    return key_ring().decrypt(blob, aad_for(table, row_id, field))


# (model label, field name) pairs holding ciphertexts; rotate_encryption_key walks them.
ENCRYPTED_FIELDS: list[tuple[str, str]] = []


def register_encrypted_field(model_label: str, field: str) -> None:
    if (model_label, field) not in ENCRYPTED_FIELDS:
        ENCRYPTED_FIELDS.append((model_label, field))


# (model label, JSON object field) pairs whose values may be sealed (EncryptedFieldsMixin.seal_value).
SEALED_VALUE_FIELDS: list[tuple[str, str]] = []


def register_sealed_value_field(model_label: str, field: str) -> None:
    if (model_label, field) not in SEALED_VALUE_FIELDS:
        SEALED_VALUE_FIELDS.append((model_label, field))


class EncryptedFieldsMixin:
    """Model helpers: ``obj.set_secret("api_key_encrypted", value)`` / ``obj.get_secret(...)``.

    The row's primary key is part of the associated data, so models using this
    mixin must have their pk before encrypting (UUID pks default on creation).
    """

    def _aad(self, field: str) -> str:
        return aad_for(self._meta.db_table, self.pk, field)

    def _is_text(self, field: str) -> bool:
        return self._meta.get_field(field).get_internal_type() in ("TextField", "CharField")

    def set_secret(self, field: str, value: str | None) -> None:
        """Encrypt into a BYTEA column, or into a text column as ``enc:`` + base64."""
        if value in (None, ""):
            setattr(self, field, None)
            return
        blob = key_ring().encrypt(value, self._aad(field))
        setattr(self, field, TEXT_PREFIX + base64.b64encode(blob).decode() if self._is_text(field) else blob)

    def get_secret(self, field: str) -> str | None:
        stored = getattr(self, field)
        if stored in (None, b"", ""):
            return None
        return key_ring().decrypt(stored_blob(stored), self._aad(field))

    def has_secret(self, field: str) -> bool:
        return getattr(self, field) not in (None, b"", "")

    # Secrets kept as single values of a JSON object field (e.g. custom headers
    # carrying API keys): each is ``enc:`` + base64, its associated data bound
    # to the row, the field and the (lower-cased) key.

    def seal_value(self, field: str, key: str, value: str) -> str:
        blob = key_ring().encrypt(value, f"{self._aad(field)}.{key.lower()}")
        return TEXT_PREFIX + base64.b64encode(blob).decode()

    def open_value(self, field: str, key: str, stored: str) -> str:
        """The plaintext of a sealed value; other values are returned as they are."""
        if not is_sealed(stored):
            return stored
        return key_ring().decrypt(stored_blob(stored), f"{self._aad(field)}.{key.lower()}")


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TEXT_PREFIX)


TEXT_PREFIX = "enc:"


def stored_blob(stored: str | bytes | memoryview) -> bytes:
    """The ciphertext bytes of a stored value (BYTEA, or ``enc:<base64>`` text)."""
    if isinstance(stored, str):
        if not stored.startswith(TEXT_PREFIX):
            raise CryptoError("stored secret is not encrypted")
        try:
            return base64.b64decode(stored[len(TEXT_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("stored secret is not valid base64") from None
    return bytes(stored)
