from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = _("Tenants and users")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenancy import schema  # noqa: F401 - registers the authenticators' OpenAPI extensions
