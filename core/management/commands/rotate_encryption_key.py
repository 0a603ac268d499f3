"""Re-encrypt every stored secret with the primary key (INTEGRATION_ENCRYPTION_KEY),
and seal secrets in JSON fields that were stored before sealing existed.

Rotation: put the new key in INTEGRATION_ENCRYPTION_KEY, move the old one to
INTEGRATION_ENCRYPTION_OLD_KEYS, deploy, run this command, then drop the old key.
"""

from django.apps import apps
from django.core.management.base import BaseCommand

from core.crypto import ENCRYPTED_FIELDS, SEALED_VALUE_FIELDS, KeyRing, is_sealed, key_ring, stored_blob
from core.tenant_context import operator_scope


class Command(BaseCommand):
    help = "Re-encrypt all secrets with the current primary key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        ring = key_ring()
        total = rotated = 0
        for model, field, obj in self._rows(ENCRYPTED_FIELDS, batch_size):
            stored = getattr(obj, field)
            if stored in (b"", ""):
                continue
            total += 1
            if KeyRing.kid_of(stored_blob(stored)) == ring.primary.kid:
                continue
            obj.set_secret(field, obj.get_secret(field))
            model.objects.filter(pk=obj.pk).update(**{field: getattr(obj, field)})
            rotated += 1
        sealed_now = 0
        for model, field, obj in self._rows(SEALED_VALUE_FIELDS, batch_size):
            # Values stored before sealing existed are sealed first (the model knows which).
            plaintext = field in getattr(obj, "seal_plaintext_secrets", set)()
            counts = [0, 0]  # sealed values seen, re-encrypted
            fresh = self._rewrap(obj, field, getattr(obj, field), ring.primary.kid, counts)
            total += counts[0]
            rotated += counts[1]
            if plaintext or counts[1]:
                model.objects.filter(pk=obj.pk).update(**{field: fresh})
                sealed_now += int(plaintext)
        if sealed_now:
            self.stdout.write(f"sealed plaintext secrets in {sealed_now} row field(s)")
        self.stdout.write(f"re-encrypted {rotated} of {total} secrets with key {ring.primary.kid}")

    @classmethod
    def _rewrap(cls, obj, field: str, value, primary_kid: str, counts: list[int]):
        """``value`` (any JSON) with every sealed string under a dict key re-sealed with the primary key."""
        if isinstance(value, list):
            return [cls._rewrap(obj, field, item, primary_kid, counts) for item in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            if is_sealed(item):
                counts[0] += 1
                if KeyRing.kid_of(stored_blob(item)) != primary_kid:
                    item = obj.seal_value(field, key, obj.open_value(field, key, item))
                    counts[1] += 1
            else:
                item = cls._rewrap(obj, field, item, primary_kid, counts)
            out[key] = item
        return out

    @staticmethod
    def _rows(fields, batch_size):
        """(model, field, row) for every row holding a value in one of ``fields``, locked, across tenants."""
        for label, field in fields:
            model = apps.get_model(label)
            with operator_scope(f"rotate_encryption_key {label}.{field}"):
                qs = model.objects.exclude(**{f"{field}__isnull": True}).select_for_update()
                for obj in qs.iterator(chunk_size=batch_size):
                    yield model, field, obj
