"""A field's choice label without rebuilding its choices for every row.

``Model.get_FOO_display()`` flattens the field's choices and makes them hashable into a
new dict on every call; an admin list asks it for each of its rows (the row label of every
action checkbox), which is most of a log list's rendering time. :func:`choice_label` keeps
that dict once per field (its labels stay lazy: each call renders the active language) and
answers as ``get_FOO_display()`` does, the stored value itself when it is no choice.
"""

from __future__ import annotations

from functools import cache

from django.db.models import Model
from django.utils.encoding import force_str


@cache
def _labels(model: type[Model], field_name: str) -> dict:
    return dict(model._meta.get_field(field_name).flatchoices)


def choice_label(obj: Model, field_name: str) -> str:
    """``obj.get_<field_name>_display()`` (same text, same language), from a dict kept per field."""
    value = getattr(obj, field_name)
    return force_str(_labels(type(obj), field_name).get(value, value), strings_only=True)
