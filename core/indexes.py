"""Index changes on big tables without blocking their writers (migration operations).

``AddIndexOnline`` / ``RemoveIndexOnline`` are Django's ``AddIndex`` / ``RemoveIndex``
(same migration state, so ``makemigrations`` sees them as those) that build and drop
the index ``CONCURRENTLY`` on PostgreSQL: a log table with millions of rows keeps
taking inserts while its index is built. A migration using them sets
``atomic = False`` (PostgreSQL refuses CONCURRENTLY inside a transaction). On SQLite
(embedded mode) they are the plain operations. ``IF [NOT] EXISTS`` makes a rerun
after an interrupted build safe; an interrupted CONCURRENTLY build leaves an
INVALID index behind, which the next run's ``RemoveIndexOnline`` (or a manual
``DROP INDEX``) clears.
"""

from __future__ import annotations

from django.db.migrations.operations import AddIndex, RemoveIndex


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _create(schema_editor, model, index) -> None:
    sql = str(index.create_sql(model, schema_editor, concurrently=True))
    schema_editor.execute(sql.replace("CREATE INDEX CONCURRENTLY", "CREATE INDEX CONCURRENTLY IF NOT EXISTS", 1))


def _drop(schema_editor, index) -> None:
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(index.name)}")


class AddIndexOnline(AddIndex):
    """``AddIndex``, built ``CONCURRENTLY`` on PostgreSQL (the migration must be ``atomic = False``)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not _postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _create(schema_editor, model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not _postgres(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _drop(schema_editor, self.index)


class RemoveIndexOnline(RemoveIndex):
    """``RemoveIndex``, dropped ``CONCURRENTLY`` on PostgreSQL (the migration must be ``atomic = False``)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not _postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _drop(schema_editor, from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not _postgres(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _create(schema_editor, model, to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name))
