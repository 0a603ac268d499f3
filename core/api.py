"""Base viewset: the single tenant-scoping point for querysets."""

from __future__ import annotations

import uuid

from rest_framework import exceptions, viewsets


class TenantScopedViewSet(viewsets.GenericViewSet):
    """The single tenant-scoping point for querysets.

    ``IsTenantMember`` has resolved ``request.tenant`` and set the transaction's
    RLS context; here every queryset is filtered by it too (two layers).
    """

    tenant_field = "tenant"

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.filter(**{self.tenant_field: self.request.tenant})

    def perform_create(self, serializer):
        serializer.save(tenant=self.request.tenant)

    def invalid_uuid_404(self, value: str) -> None:
        try:
            uuid.UUID(str(value))
        except ValueError:
            raise exceptions.NotFound() from None

    def get_object(self):
        lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        self.invalid_uuid_404(lookup)
        return super().get_object()
