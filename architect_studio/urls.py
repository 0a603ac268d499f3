from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.drf import json_error_view
from core.metrics import metrics_view
from core.routers import OptionalSlashRouter
from core.views import healthz
from entities.views import ROUTES as ENTITY_ROUTES
from tenancy.views import WsTicketView

router = OptionalSlashRouter()
for prefix, viewset in ENTITY_ROUTES:
    router.register(prefix, viewset, basename=prefix[:-1])

api_patterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(r"^ws-ticket/?$", WsTicketView.as_view(), name="ws-ticket"),
    path("", include("webhooks.urls")),
    path("", include("integrations.urls")),
    path("", include(router.urls)),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/", include(api_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("tenancy.signin")),
    path("", include("integrations.page_urls")),
    path("", include("webhooks.page_urls")),
    path("admin/", admin.site.urls),
]

handler404 = json_error_view(404, "Not found.")
handler500 = json_error_view(500, "Internal server error.")
handler400 = json_error_view(400, "Bad request.")
handler403 = json_error_view(403, "Forbidden.")

