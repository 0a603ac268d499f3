"""``AlterFields``: many ``AlterField`` operations applied as one, rendering each model once.

The admin-in-Hebrew migrations relabel hundreds of fields (verbose names, help texts, choices).
As plain ``AlterField`` operations each one re-renders its model and every model related to it,
so those migrations alone cost about two thirds of a full ``migrate`` (measured: 424 field
reloads, ~69 of ~97 CPU seconds under cProfile) — paid by every fresh database, every test
worker and every embedded (SQLite) start.

``AlterFields([AlterField(...), ...])`` runs the same operations with the same effect on the
project state and on the database; only the re-rendering is deferred to once per touched model.
Each inner operation's ``database_forwards`` still runs (the schema editor skips fields whose
change is label-only), between the state before and the state after the whole group: the inner
operations each alter a distinct field, so that is the same comparison they would make one by one.
"""

from __future__ import annotations

from django.db import migrations


class AlterFields(migrations.operations.base.Operation):
    reduces_to_sql = False

    def __init__(self, operations):
        self.operations = list(operations)
        keys = [(op.model_name_lower, op.name.lower()) for op in self.operations]
        assert all(isinstance(op, migrations.AlterField) for op in self.operations), "AlterField only"
        assert len(keys) == len(set(keys)), "each field once: the group compares before and after"
        super().__init__()

    def deconstruct(self):
        return self.__class__.__qualname__, [self.operations], {}

    @property
    def reversible(self):
        return all(op.reversible for op in self.operations)

    def state_forwards(self, app_label, state):
        touched: dict[tuple[str, str], bool] = {}

        def collect(app, model, delay=False):
            # a model is rendered without delay if any of its altered fields asked for that
            touched[(app, model)] = touched.get((app, model), True) and delay

        state.reload_model = collect  # shadows the method on this instance only
        try:
            for op in self.operations:
                op.state_forwards(app_label, state)
        finally:
            del state.reload_model
        for (app, model), delay in touched.items():
            state.reload_model(app, model, delay=delay)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        for op in self.operations:
            op.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for op in reversed(self.operations):
            op.database_backwards(app_label, schema_editor, from_state, to_state)

    def references_model(self, name, app_label):
        return any(op.references_model(name, app_label) for op in self.operations)

    def references_field(self, model_name, name, app_label):
        return any(op.references_field(model_name, name, app_label) for op in self.operations)

    def describe(self):
        return f"Alter {len(self.operations)} fields (labels)"

    @property
    def migration_name_fragment(self):
        return "alter_fields"
