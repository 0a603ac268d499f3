"""A model serializer for lists read many rows at a time (the log lists, issue 12 item 9).

DRF's ``ModelSerializer`` builds its fields anew for every serializer (reading
the model's meta, ~25 field objects per request) and then, for every row and
field, goes through ``get_attribute`` / ``SkipField`` / ``PKOnlyObject`` checks
made for nested and relational sources. For a 50-row page of a plain model
that was a quarter of the request's own CPU time. :class:`RowsModelSerializer`
writes the same dict: it plans the fields once per class — each readable field
that reads one concrete column of the model, with a plain field type whose
output depends only on the value (and the active time zone, still read per
call), or a ``SerializerMethodField`` (called on the serializer itself, as DRF
does) — and falls back to DRF's own ``to_representation`` for anything else.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

#: Field types whose ``to_representation(value)`` reads nothing but the value (no parent, no context).
_PLAIN = frozenset({
    serializers.BooleanField, serializers.CharField, serializers.ChoiceField, serializers.DateTimeField,
    serializers.FloatField, serializers.IntegerField, serializers.JSONField, serializers.UUIDField,
})

#: (output name, model attribute or None, the field's to_representation or None, method name or None)
_Step = tuple[str, str | None, Any, str | None]


class RowsModelSerializer(serializers.ModelSerializer):
    """Output-only model serializer; same output as DRF's, planned once per class."""

    _row_plan: ClassVar[list[_Step] | None]

    @classmethod
    def _plan(cls) -> list[_Step] | None:
        """The steps writing one row, or None when a field needs DRF's general path."""
        if "_row_plan" in cls.__dict__:
            return cls.__dict__["_row_plan"]
        columns = {f.attname for f in cls.Meta.model._meta.concrete_fields}
        plan: list[_Step] | None = []
        for field in cls()._readable_fields:  # a probe: fields bound to a serializer with no context
            if isinstance(field, serializers.SerializerMethodField):
                plan.append((field.field_name, None, None, field.method_name))
            elif type(field) in _PLAIN and len(field.source_attrs) == 1 and field.source_attrs[0] in columns:
                plan.append((field.field_name, field.source_attrs[0], field.to_representation, None))
            else:
                plan = None
                break
        cls._row_plan = plan
        return plan

    def to_representation(self, instance):
        plan = self._plan()
        if plan is None or not isinstance(instance, self.Meta.model):
            return super().to_representation(instance)
        row = {}
        for name, attr, to_representation, method in plan:
            if method is not None:
                row[name] = getattr(self, method)(instance)
            else:
                value = getattr(instance, attr)
                row[name] = None if value is None else to_representation(value)
        return row
