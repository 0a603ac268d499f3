"""Tenant-facing pages at the site root: the integrations list and one integration's settings."""

from django.urls import re_path

from integrations.pages import catalog, messaging, settings

urlpatterns = [
    re_path(r"^integrations/?$", catalog.integrations_page, name="integrations-page"),
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/?$", settings.integration_settings_page,
            name="integration-settings-page"),
    # A messaging integration's rules, quiet hours, opt-outs and dispatches (its own page).
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/messaging/?$", messaging.messaging_page,
            name="integration-messaging-page"),
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/messaging/rule-form/?$", messaging.rule_form,
            name="integration-messaging-rule-form"),
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/messaging/rules/?$", messaging.rule_save,
            name="integration-messaging-rule-save"),
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/messaging/rules/delete/?$", messaging.rule_delete,
            name="integration-messaging-rule-delete"),
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/messaging/quiet-hours/?$",
            messaging.quiet_hours_save, name="integration-messaging-quiet-hours"),
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/messaging/opt-outs/?$", messaging.opt_out_add,
            name="integration-messaging-opt-out-add"),
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/messaging/opt-outs/delete/?$",
            messaging.opt_out_delete, name="integration-messaging-opt-out-delete"),
    *catalog.urlpatterns,  # the integrations page's card actions (htmx partials)
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/(?P<part>[a-z-]{1,30})/?$",
            settings.integration_settings_part, name="integration-settings-part"),
]
