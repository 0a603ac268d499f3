from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_migrate

        from core import db, guardrails, logredact

        logredact.install()

        # DJANGO_ENV=production: web, worker, beat and commands refuse an unsafe setup.
        guardrails.enforce()
        checks.register(guardrails.deploy_check, checks.Tags.security, deploy=True)
        post_migrate.connect(db.grant_runtime_role, dispatch_uid="core.grant_runtime_role")

        import logging
        import os

        from django.conf import settings

        if settings.MODE.embedded_db or settings.MODE.embedded_broker:
            logging.getLogger("architect_studio").warning("EMBEDDED MODE: %s", settings.MODE.describe())
        if os.environ.get("ARCHITECT_INPROCESS_SCHEDULER") == "1":
            from core import scheduler

            scheduler.start()


class HubAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the operator-scoped site (core.admin_site)."""

    default = False  # CoreConfig stays this module's default config
    default_site = "core.admin_site.HubAdminSite"

    def ready(self):
        super().ready()  # autodiscover: every app's admin module, django-celery-beat's included
        from django.contrib import admin

        from core import admin_beat, admin_site

        admin_beat.install(admin.site)
        admin_site.translate_boolean_icons()
