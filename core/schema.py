"""drf-spectacular extensions: our authenticators and slash-less paths (C4)."""

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


def strip_trailing_slashes(result, generator, request, public):
    """Routes accept both forms; document the seed's slash-less paths."""
    result["paths"] = {
        (path.rstrip("/") if len(path) > 1 else path): item for path, item in result.get("paths", {}).items()
    }
    return result
