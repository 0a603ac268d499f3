from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from core.api import TenantScopedViewSet
from entities import services
from entities.models import Client, Document, Expense, Meeting, Message, Payment, Supplier, Task
from entities.serializers import (
    ClientSerializer,
    DocumentSerializer,
    ExpenseSerializer,
    MeetingSerializer,
    MessageSerializer,
    PaymentSerializer,
    SupplierSerializer,
    TaskSerializer,
)


class EntityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    TenantScopedViewSet,
):
    """CRUD for one entity stand-in; writes go through entities.services (events)."""

    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self):
        qs = super().get_queryset()
        status_filter = self.request.query_params.get("status")
        if status_filter and hasattr(qs.model, "Status"):
            if status_filter not in qs.model.Status.values:
                raise exceptions.ValidationError({"status": [f"must be one of {', '.join(qs.model.Status.values)}"]})
            qs = qs.filter(status=status_filter)
        return qs

    def create(self, request, *args, **kwargs):
        instance = services.entity_create(
            tenant=request.tenant, entity_type=self.queryset.model.entity_type, data=request.data, actor_id=request.user.pk
        )
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = services.entity_update(
            instance=self.get_object(), data=request.data, tenant=request.tenant, actor_id=request.user.pk,
            partial=kwargs.get("partial", False),
        )
        return Response(self.get_serializer(instance).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.entity_delete(instance=self.get_object(), actor_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _viewset(model, serializer, name):
    return extend_schema(tags=[name])(
        type(f"{model.__name__}ViewSet", (EntityViewSet,), {"queryset": model.objects.all(), "serializer_class": serializer})
    )


MeetingViewSet = _viewset(Meeting, MeetingSerializer, "meetings")
TaskViewSet = _viewset(Task, TaskSerializer, "tasks")
DocumentViewSet = _viewset(Document, DocumentSerializer, "documents")
DocumentViewSet.queryset = Document.objects.select_related("client")  # clientName: no query per row
PaymentViewSet = _viewset(Payment, PaymentSerializer, "payments")
ExpenseViewSet = _viewset(Expense, ExpenseSerializer, "expenses")
ClientViewSet = _viewset(Client, ClientSerializer, "clients")
SupplierViewSet = _viewset(Supplier, SupplierSerializer, "suppliers")
MessageViewSet = _viewset(Message, MessageSerializer, "messages")

ROUTES = [
    ("meetings", MeetingViewSet),
    ("tasks", TaskViewSet),
    ("documents", DocumentViewSet),
    ("payments", PaymentViewSet),
    ("expenses", ExpenseViewSet),
    ("clients", ClientViewSet),
    ("suppliers", SupplierViewSet),
    ("messages", MessageViewSet),
]
