"""core.migration_ops.AlterFields: the same project state and schema as its AlterField operations
one by one; each model re-rendered once instead of once per field."""

from __future__ import annotations

import pytest
from django.db import migrations, models
from django.db.migrations.state import ModelState, ProjectState

from core.migration_ops import AlterFields


def _state() -> ProjectState:
    state = ProjectState()
    state.add_model(ModelState("shop", "Owner", [("id", models.AutoField(primary_key=True)),
                                                 ("name", models.CharField(max_length=10))]))
    state.add_model(ModelState("shop", "Item", [
        ("id", models.AutoField(primary_key=True)),
        ("title", models.CharField(max_length=10)),
        ("kind", models.CharField(max_length=5)),
        ("owner", models.ForeignKey("shop.Owner", models.CASCADE)),
    ]))
    return state


def _ops():
    return [
        migrations.AlterField("item", "title", models.CharField(max_length=10, verbose_name="כותרת")),
        migrations.AlterField("item", "kind", models.CharField(max_length=5, choices=[("a", "א")], verbose_name="סוג")),
        migrations.AlterField("item", "owner", models.ForeignKey("shop.Owner", models.CASCADE, verbose_name="בעלים")),
        migrations.AlterField("owner", "name", models.CharField(max_length=10, verbose_name="שם")),
    ]


def _fields(state: ProjectState) -> dict:
    return {key: {name: field.deconstruct()[1:] for name, field in model.fields.items()}
            for key, model in state.models.items()}


def test_the_group_leaves_the_state_each_alterfield_would_and_renders_each_model_once(monkeypatch):
    one_by_one, grouped = _state(), _state()
    assert one_by_one.apps and grouped.apps  # rendered, as during migrate
    for op in _ops():
        op.state_forwards("shop", one_by_one)

    reloads = []
    original = ProjectState.reload_model
    monkeypatch.setattr(ProjectState, "reload_model",
                        lambda self, app, model, delay=False: (reloads.append(model), original(self, app, model, delay))[1])
    AlterFields(_ops()).state_forwards("shop", grouped)

    assert _fields(grouped) == _fields(one_by_one)
    assert sorted(reloads) == ["item", "owner"]
    assert grouped.apps.get_model("shop", "Item")._meta.get_field("kind").verbose_name == "סוג"
    assert grouped.apps.get_model("shop", "Item")._meta.get_field("owner").related_model._meta.model_name == "owner"


def test_each_field_once_and_alterfield_only():
    with pytest.raises(AssertionError):
        AlterFields([_ops()[0], _ops()[0]])
    with pytest.raises(AssertionError):
        AlterFields([migrations.AddField("item", "x", models.IntegerField(default=0))])


@pytest.mark.django_db
def test_the_converted_admin_hebrew_migrations_emit_no_sql():
    """They relabel only: on PostgreSQL the schema editor finds nothing to alter."""
    from io import StringIO

    from django.core.management import call_command

    for app, name in [("integrations", "0011"), ("entities", "0009"), ("webhooks", "0009"), ("tenancy", "0005"),
                      ("integrations", "0014"), ("webhooks_incoming", "0004")]:
        out = StringIO()
        call_command("sqlmigrate", app, name, stdout=out)
        statements = [line for line in out.getvalue().splitlines()
                      if line.strip() and not line.startswith("--") and line not in ("BEGIN;", "COMMIT;")]
        assert statements == [], (app, name, statements)
