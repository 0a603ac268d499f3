"""drf-spectacular extensions for this app's authenticators (tenancy.authentication).

Registered by ``TenancyConfig.ready`` importing this module: an extension class
registers itself when it is defined.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenancy.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "API token from create_tenant (ash_…)"}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "tenancy.authentication.TenantSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
