"""Tenant-facing pages at the site root: the integrations list and one integration's settings."""

from django.urls import re_path

from integrations.pages import catalog, settings

urlpatterns = [
    re_path(r"^integrations/?$", catalog.integrations_page, name="integrations-page"),
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/?$", settings.integration_settings_page,
            name="integration-settings-page"),
    *catalog.urlpatterns,  # the integrations page's card actions (htmx partials)
    re_path(r"^integrations/(?P<integration_id>[0-9a-fA-F-]{36})/(?P<part>[a-z-]{1,30})/?$",
            settings.integration_settings_part, name="integration-settings-part"),
]
