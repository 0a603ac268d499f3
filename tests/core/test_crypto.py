"""Secrets at rest: AES-256-GCM key ring, AAD binding, tamper detection, rotation."""

from __future__ import annotations

import io
import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from core import crypto
from core.crypto import CryptoError, KeyRing, generate_key_spec, parse_key
from core.tenant_context import operator_scope, tenant_scope
from tests.support.paths import ROOT
from webhooks.models import OutgoingWebhook


def ring(primary: str, *old: str) -> KeyRing:
    return KeyRing(parse_key(primary), [parse_key(o) for o in old])


K1, K2 = generate_key_spec("k1"), generate_key_spec("k2")


def _rotate_from_k1_to_k2(settings) -> str:
    """Deploy K2 as primary with K1 kept for reading, run the command; its output."""
    crypto.key_ring.cache_clear()
    settings.INTEGRATION_ENCRYPTION_KEY = K2
    settings.INTEGRATION_ENCRYPTION_OLD_KEYS = [K1]
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    crypto.key_ring.cache_clear()
    settings.INTEGRATION_ENCRYPTION_OLD_KEYS = []  # then the old key is dropped
    return out.getvalue()


def test_roundtrip_and_key_id_in_ciphertext():
    r = ring(K1)
    blob = r.encrypt("ya29.secret-token", "integrations:1:oauth")
    assert b"ya29" not in blob
    assert KeyRing.kid_of(blob) == "k1"
    assert r.decrypt(blob, "integrations:1:oauth") == "ya29.secret-token"


def test_same_plaintext_encrypts_differently_each_time():
    r = ring(K1)
    assert r.encrypt("x", "a") != r.encrypt("x", "a")


def test_tampered_ciphertext_fails():
    r = ring(K1)
    blob = bytearray(r.encrypt("secret", "t:1:f"))
    blob[-1] ^= 0x01
    with pytest.raises(CryptoError, match="failed authentication"):
        r.decrypt(bytes(blob), "t:1:f")


def test_wrong_associated_data_fails_so_ciphertexts_cannot_move_between_rows():
    r = ring(K1)
    blob = r.encrypt("secret", "integrations:row-a:api_key")
    with pytest.raises(CryptoError):
        r.decrypt(blob, "integrations:row-b:api_key")
    with pytest.raises(CryptoError):
        r.decrypt(blob, "integrations:row-a:webhook_secret")


def test_old_key_still_decrypts_after_rotation_unknown_key_does_not():
    old = ring(K1).encrypt("secret", "aad")
    assert ring(K2, K1).decrypt(old, "aad") == "secret"
    with pytest.raises(CryptoError, match="no key with id 'k1'"):
        ring(K2).decrypt(old, "aad")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("k:not-base64!", "encryption key is not valid base64"),
        ("k:QUJD", "encryption key must be 32 bytes (AES-256), base64-encoded"),  # "ABC": valid base64, too short
        ("bad id!:" + K1.split(":")[1], "key id must be 1-64 ascii letters, digits, '-' or '_'"),
    ],
    ids=["not-base64", "too-short", "bad-key-id"],  # stable ids: K1 is random (xdist workers compare ids)
)
def test_bad_key_specs_rejected_without_echoing_material(spec, message):
    material = spec.split(":", 1)[1]
    with pytest.raises(CryptoError) as info:
        parse_key(spec)
    assert str(info.value) == message
    assert material not in str(info.value) and material not in repr(info.value)


def test_key_repr_never_shows_material():
    key = parse_key(K1)
    assert K1.split(":")[1] not in repr(key)


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_rotate_encryption_key_command_reencrypts_every_secret(alice, settings):
    crypto.key_ring.cache_clear()
    settings.INTEGRATION_ENCRYPTION_KEY = K1
    settings.INTEGRATION_ENCRYPTION_OLD_KEYS = []
    try:
        with tenant_scope(alice.tenant.id):
            hook = OutgoingWebhook(tenant=alice.tenant, name="h", url="https://example.com/h", triggers=[])
            hook.set_secret("signature_secret", "s3cret-value")
            hook.headers = {"X-Api-Key": hook.seal_value("headers", "X-Api-Key", "key-value"), "X-Team": "studio"}
            hook.save()
        stored = hook.signature_secret
        assert stored.startswith("enc:") and "s3cret" not in stored

        assert "re-encrypted 2 of 2 secrets with key k2" in _rotate_from_k1_to_k2(settings)
        with operator_scope("test"):
            fresh = OutgoingWebhook.objects.get(pk=hook.pk)
        assert KeyRing.kid_of(crypto.stored_blob(fresh.signature_secret)) == "k2"
        assert fresh.get_secret("signature_secret") == "s3cret-value"
        assert KeyRing.kid_of(crypto.stored_blob(fresh.headers["X-Api-Key"])) == "k2"
        assert fresh.open_value("headers", "X-Api-Key", fresh.headers["X-Api-Key"]) == "key-value"
        assert fresh.headers["X-Team"] == "studio"
    finally:
        crypto.key_ring.cache_clear()


@pytest.mark.django_db(transaction=True)  # operator_scope reads on its own connection
def test_rotation_reseals_nested_values_and_seals_rows_stored_in_plaintext(alice, settings):
    from webhooks.models import IncomingWebhook

    crypto.key_ring.cache_clear()
    settings.INTEGRATION_ENCRYPTION_KEY = K1
    settings.INTEGRATION_ENCRYPTION_OLD_KEYS = []
    forward = {"type": "forward", "config": {"forwardUrl": "https://example.com/f",
                                             "forwardHeaders": {"Authorization": "Bearer fw-token", "X-Team": "ops"}}}
    try:
        with tenant_scope(alice.tenant.id):
            incoming = IncomingWebhook(tenant=alice.tenant, name="in", url="https://hub.example/in-1",
                                       actions=[forward], verification_config={"verifyToken": "vt-1"},
                                       filters={"headers": {"X-Api-Key": "filter-key", "X-Source": "site"}})
            incoming.set_secret("secret", "whsec-in")
            incoming.save()  # sealed on save, with k1
            assert "fw-token" not in str(incoming.actions) and "vt-1" not in str(incoming.verification_config)
            old = OutgoingWebhook.objects.create(tenant=alice.tenant, name="old", url="https://example.com/o", triggers=[])
            # A row from before sealing existed: written around save()
            OutgoingWebhook.objects.filter(pk=old.pk).update(headers={"X-Api-Key": "plain-key", "X-Team": "t"})

        # the old key is dropped after the command: everything reads with k2
        assert "sealed plaintext secrets in 1 row field(s)" in _rotate_from_k1_to_k2(settings)
        with operator_scope("test"):
            incoming = IncomingWebhook.objects.get(pk=incoming.pk)
            old = OutgoingWebhook.objects.get(pk=old.pk)
        headers = incoming.actions[0]["config"]["forwardHeaders"]
        assert KeyRing.kid_of(crypto.stored_blob(headers["Authorization"])) == "k2"
        assert incoming.opened_headers(headers) == {"Authorization": "Bearer fw-token", "X-Team": "ops"}
        assert incoming.opened_verification_config() == {"verifyToken": "vt-1"}
        assert KeyRing.kid_of(crypto.stored_blob(incoming.filters["headers"]["X-Api-Key"])) == "k2"
        assert incoming.opened_filters() == {"headers": {"X-Api-Key": "filter-key", "X-Source": "site"}}
        assert KeyRing.kid_of(crypto.stored_blob(old.headers["X-Api-Key"])) == "k2"
        assert old.open_value("headers", "X-Api-Key", old.headers["X-Api-Key"]) == "plain-key"
        assert old.headers["X-Team"] == "t"
    finally:
        crypto.key_ring.cache_clear()


def test_a_sealed_value_that_cannot_be_opened_reads_as_absent_not_as_an_error(alice):
    from webhooks.models import IncomingWebhook

    with tenant_scope(alice.tenant.id):
        one = IncomingWebhook(tenant=alice.tenant, name="a", url="https://hub.example/a", actions=[],
                              verification_config={"verifyToken": "vt-a"})
        one.save()
        other = IncomingWebhook(tenant=alice.tenant, name="b", url="https://hub.example/b", actions=[],
                                verification_config={"verifyToken": one.verification_config["verifyToken"]})
        other.save()  # a ciphertext moved from another row: bound to that row, it does not open here
    assert one.opened_verification_config() == {"verifyToken": "vt-a"}
    assert other.opened_verification_config() == {"verifyToken": None}


def test_without_a_key_a_dev_key_is_generated_into_an_ignored_file_with_a_warning(tmp_path, settings, caplog):
    crypto.key_ring.cache_clear()
    settings.INTEGRATION_ENCRYPTION_KEY = None
    settings.DEV_KEY_FILE = tmp_path / "var" / "dev-encryption-key"
    try:
        with caplog.at_level("WARNING", logger="architect_studio.crypto"):
            first = crypto.key_ring()
        assert settings.DEV_KEY_FILE.stat().st_mode & 0o777 == 0o600
        assert "INTEGRATION_ENCRYPTION_KEY is not set" in caplog.text
        crypto.key_ring.cache_clear()
        assert crypto.key_ring().primary.kid == first.primary.kid == "dev"  # reused, not regenerated
    finally:
        crypto.key_ring.cache_clear()


# --- every encrypted column is rotated -------------------------------------------------

_SECRET_CALL = re.compile(r"""\b(set_secret|seal_value)\(\s*["'](\w+)["']""")


def _secret_calls() -> dict[str, set[str]]:
    """Field names passed to set_secret / seal_value anywhere in the application code."""
    found: dict[str, set[str]] = {"set_secret": set(), "seal_value": set()}
    root = ROOT
    for package in ("core", "integrations", "webhooks", "tenancy", "entities", "architect_studio"):
        for path in (root / package).rglob("*.py"):
            for kind, field in _SECRET_CALL.findall(path.read_text(encoding="utf-8")):
                found[kind].add(field)
    return found


def _looks_secret(field) -> bool:
    """A column that holds a secret by its type and name (hashes and timestamps do not)."""
    if isinstance(field, models.BinaryField):
        return True
    name = field.name
    text = isinstance(field, models.CharField | models.TextField)
    return text and not name.endswith("_hash") and (name.endswith("_encrypted") or "secret" in name)


def test_every_encrypted_column_is_registered_for_key_rotation():
    """rotate_encryption_key re-encrypts exactly the registered (model, field) pairs:
    a secret column missing there would stay under the old key and become unreadable
    once that key is dropped. Found by introspection: columns that look secret on any
    model, and every field the code encrypts with set_secret / seal_value."""
    registered = set(crypto.ENCRYPTED_FIELDS)
    sealed = set(crypto.SEALED_VALUE_FIELDS)
    calls = _secret_calls()
    missing: list[str] = []
    for model in apps.get_models():
        label = model._meta.label
        names = {f.name for f in model._meta.concrete_fields}
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey | models.JSONField):
                continue
            if _looks_secret(field) or (issubclass(model, crypto.EncryptedFieldsMixin)
                                        and field.name in calls["set_secret"]):
                if (label, field.name) not in registered:
                    missing.append(f"{label}.{field.name}")
        if issubclass(model, crypto.EncryptedFieldsMixin):
            for name in calls["seal_value"] & names:
                if isinstance(model._meta.get_field(name), models.JSONField) and (label, name) not in sealed:
                    missing.append(f"{label}.{name} (sealed values)")
    assert missing == [], f"secret columns not registered for rotation: {missing}"
    # and the registry names only real columns of models that can encrypt them
    for label, name in registered | sealed:
        model = apps.get_model(label)
        assert issubclass(model, crypto.EncryptedFieldsMixin), label
        model._meta.get_field(name)
    assert {"signature_secret", "oauth_encrypted", "code_verifier_encrypted"} <= calls["set_secret"]
