"""Re-encrypt every stored secret with the primary key (INTEGRATION_ENCRYPTION_KEY).

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
        for model, field, obj in self._rows(SEALED_VALUE_FIELDS, batch_size):
            values = getattr(obj, field)
            if not isinstance(values, dict):
                continue
            sealed = {k: v for k, v in values.items() if is_sealed(v)}
            total += len(sealed)
            stale = {k: v for k, v in sealed.items() if KeyRing.kid_of(stored_blob(v)) != ring.primary.kid}
            if not stale:
                continue
            fresh = {**values, **{k: obj.seal_value(field, k, obj.open_value(field, k, v)) for k, v in stale.items()}}
            model.objects.filter(pk=obj.pk).update(**{field: fresh})
            rotated += len(stale)
        self.stdout.write(f"re-encrypted {rotated} of {total} secrets with key {ring.primary.kid}")

    @staticmethod
    def _rows(fields, batch_size):
        """(model, field, row) for every row holding a value in one of ``fields``, locked, across tenants."""
        for label, field in fields:
            model = apps.get_model(label)
            with operator_scope(f"rotate_encryption_key {label}.{field}"):
                qs = model.objects.exclude(**{f"{field}__isnull": True}).select_for_update()
                for obj in qs.iterator(chunk_size=batch_size):
                    yield model, field, obj
