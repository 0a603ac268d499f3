"""Bench URLconf: the real URLs plus the baselines (only with bench.settings)."""

from django.urls import path

from architect_studio.urls import handler400, handler403, handler404, handler500  # noqa: F401
from architect_studio.urls import urlpatterns as real_urlpatterns
from bench.baseline_views import bare, minimal

urlpatterns = [
    path("bench/bare", bare),
    path("bench/minimal/<uuid:tenant_id>", minimal),
    *real_urlpatterns,
]
