"""django-celery-beat's periodic-task and crontab admins with Hebrew-ready titles.

The package's msgids are translated in the root catalog (locale/he); some of its texts are no
msgid at all: the ``scheduler`` column (a model property, shown by its name), the ``task`` field's
verbose name ("Task Name", a plain string, so the filter "By Task Name"), and a crontab's
``human_readable`` (a property, described by cron_descriptor, which has no Hebrew). These
subclasses give them translated titles, and describe a crontab by its translated field names in a
language cron_descriptor lacks; core.apps.HubAdminConfig.ready registers them in place of the package's.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import CrontabScheduleAdmin, PeriodicTaskAdmin, PeriodicTaskInline


class TaskNameFilter(admin.AllValuesFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("task name")  # FieldListFilter sets it from the field's verbose name


def crontab_description(crontab) -> str:
    """cron_descriptor's sentence in English; elsewhere the expression by its translated field names."""
    if (get_language() or "en").startswith("en"):
        return crontab.human_readable
    parts = [f"{crontab._meta.get_field(name).verbose_name}: {getattr(crontab, name)}"
             for name in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")]
    return " · ".join([*parts, f"{crontab._meta.get_field('timezone').verbose_name}: {crontab.timezone}"])


class HubPeriodicTaskAdmin(PeriodicTaskAdmin):
    # the package's form template, with its one English word ("Translation:") translated
    change_form_template = "admin/djcelery/hub_change_periodictask_form.html"

    list_display = tuple("schedule_kind" if name == "scheduler" else name for name in PeriodicTaskAdmin.list_display)
    list_filter = [("task", TaskNameFilter) if name == "task" else name for name in PeriodicTaskAdmin.list_filter]

    @admin.display(description=_("schedule"))
    def schedule_kind(self, obj) -> str:
        return str(obj.scheduler)

    def crontab_translation(self, obj):
        return crontab_description(obj.crontab)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        from django_celery_beat.models import CrontabSchedule

        extra_context = {**(extra_context or {}),
                         "readable_crontabs": {c.id: crontab_description(c) for c in CrontabSchedule.objects.all()}}
        # the package's override computes the English descriptions: skip it, keep ModelAdmin's
        return admin.ModelAdmin.changeform_view(self, request, object_id, form_url, extra_context)


class HubPeriodicTaskInline(PeriodicTaskInline):
    """The tasks on a schedule (each schedule's page), the task's name column titled in a msgid."""

    fields = tuple("task_name" if name == "task" else name for name in PeriodicTaskInline.fields)
    readonly_fields = fields

    @admin.display(description=_("task name"))
    def task_name(self, obj) -> str:
        return obj.task


class HubCrontabScheduleAdmin(CrontabScheduleAdmin):
    inlines = [HubPeriodicTaskInline]
    list_display = ("__str__", "runs_at")
    fields = ("runs_at", *(f for f in CrontabScheduleAdmin.fields if f != "human_readable"))
    readonly_fields = ("runs_at",)

    @admin.display(description=_("runs at"))
    def runs_at(self, obj) -> str:
        return crontab_description(obj)


def install(site: admin.AdminSite) -> None:
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    replaced = {PeriodicTask: HubPeriodicTaskAdmin, CrontabSchedule: HubCrontabScheduleAdmin}
    for model in (IntervalSchedule, SolarSchedule, ClockedSchedule):  # the package's, with the inline above
        if site.is_registered(model):
            base = type(site.get_model_admin(model))
            replaced[model] = type(f"Hub{base.__name__}", (base,), {"inlines": [HubPeriodicTaskInline],
                                                                     "__module__": __name__})
    for model, model_admin in replaced.items():
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
