"""Writes to the entity stand-ins. Every change records its entity event here."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import transaction
from djangorestframework_camel_case.util import camelize, camelize_re, underscore_to_camel
from rest_framework.exceptions import ValidationError

from entities import events
from entities.models import EntityModel
from entities.serializers import SERIALIZERS
from tenancy.models import Tenant


class UnknownEntityType(ValueError):
    pass


def serializer_for(entity_type: str):
    try:
        return SERIALIZERS[entity_type]
    except KeyError:
        raise UnknownEntityType(entity_type) from None


def entity_snapshot(instance: EntityModel) -> dict[str, Any]:
    """The entity as JSON, camelCase — what outgoing webhooks send without a template."""
    data = serializer_for(instance.entity_type)(instance).data
    return camelize(_plain(data))


def _plain(data):
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _status(instance: EntityModel) -> str | None:
    return getattr(instance, instance.status_field) if instance.status_field else None


@transaction.atomic
def entity_create(*, tenant: Tenant, entity_type: str, data: dict, actor_id=None, source: str = "api") -> EntityModel:
    """Validate with the entity's own serializer (raises DRF ValidationError) and create."""
    serializer = serializer_for(entity_type)(data=data, context={"tenant": tenant})
    serializer.is_valid(raise_exception=True)
    instance = serializer.save(tenant=tenant)
    events.emit(
        tenant_id=tenant.id, entity_type=entity_type, entity_id=instance.id, event="created",
        data=entity_snapshot(instance), new_status=_status(instance), actor_id=actor_id, source=source,
    )
    return instance


@transaction.atomic
def entity_update(*, instance: EntityModel, data: dict, tenant: Tenant, actor_id=None, source: str = "api", partial: bool = True) -> EntityModel:
    old_status = _status(instance)
    serializer = serializer_for(instance.entity_type)(instance, data=data, partial=partial, context={"tenant": tenant})
    serializer.is_valid(raise_exception=True)
    instance = serializer.save()
    snapshot = entity_snapshot(instance)
    new_status = _status(instance)
    events.emit(
        tenant_id=tenant.id, entity_type=instance.entity_type, entity_id=instance.id, event="updated",
        data=snapshot, old_status=old_status, new_status=new_status, actor_id=actor_id, source=source,
    )
    if instance.status_field and old_status != new_status:
        events.emit(
            tenant_id=tenant.id, entity_type=instance.entity_type, entity_id=instance.id, event="status_changed",
            data=snapshot, old_status=old_status, new_status=new_status, actor_id=actor_id, source=source,
        )
    return instance


@transaction.atomic
def entity_delete(*, instance: EntityModel, actor_id=None, source: str = "api") -> None:
    snapshot = entity_snapshot(instance)
    entity_id, tenant_id, entity_type = instance.id, instance.tenant_id, instance.entity_type
    instance.delete()
    events.emit(
        tenant_id=tenant_id, entity_type=entity_type, entity_id=entity_id, event="deleted",
        data=snapshot, old_status=snapshot.get("status"), actor_id=actor_id, source=source,
    )


# --------------------------------------------------------------------------- bulk (imports)
def entity_bulk_create(
    *, tenant: Tenant, entity_type: str, items: list[dict], actor_id=None, source: str = "api"
) -> list[EntityModel | ValidationError]:
    """Many ``entity_create`` calls at once, for imports: the same rules, rows and events.

    Each item is validated by the entity's own serializer, as ``entity_create`` does (one
    serializer instance validates them all, the way DRF's ``many=True`` does, so its fields
    are built once); the valid ones are inserted with one ``bulk_create`` and their
    ``created`` events (same snapshot, same source) with one more, in the caller's
    transaction. Returns, per item and in order, the created instance or the
    ``ValidationError`` that refused it (nothing is written for a refused item).
    A database error raises, and nothing of the batch is written.
    """
    serializer_class = serializer_for(entity_type)
    model = serializer_class.Meta.model
    validator = serializer_class(context={"tenant": tenant})
    results: list[EntityModel | ValidationError] = []
    for item in items:
        validator.initial_data = item
        try:
            validated = validator.run_validation(item)
        except ValidationError as exc:
            results.append(exc)
            continue
        results.append(model(tenant=tenant, **validated))
    created = [r for r in results if not isinstance(r, ValidationError)]
    if not created:
        return results
    for instance in created:
        instance.fill_derived()  # bulk_create skips save()
    with transaction.atomic():
        model.objects.bulk_create(created)
        snapshots = entity_snapshots(created)
        events.emit_bulk([
            dict(tenant_id=tenant.id, entity_type=entity_type, entity_id=instance.id, event="created", data=snapshot,
                 new_status=_status(instance), actor_id=actor_id, source=source)
            for instance, snapshot in zip(created, snapshots, strict=True)
        ])
    return results


def entity_snapshots(instances: list[EntityModel]) -> list[dict[str, Any]]:
    """``entity_snapshot`` of many instances of one type (one serializer for all of them)."""
    if not instances:
        return []
    data = serializer_for(instances[0].entity_type)(instances, many=True).data
    return _camelize_plain(_plain(data))


@lru_cache(maxsize=2048)
def _camel_key(key: str) -> str:
    return camelize_re.sub(underscore_to_camel, key) if "_" in key else key


def _camelize_plain(data: Any) -> Any:
    """``camelize`` of JSON data (dicts, lists, scalars), each key converted once per process."""
    if isinstance(data, dict):
        return {_camel_key(k) if isinstance(k, str) else k: _camelize_plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_camelize_plain(item) for item in data]
    return data
