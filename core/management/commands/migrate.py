"""`migrate` that runs as the schema owner (DATABASE_ADMIN_URL) by default."""

from django.core.management.commands.migrate import Command as DjangoMigrate

from core.db import migration_alias


class Command(DjangoMigrate):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(database=migration_alias())
