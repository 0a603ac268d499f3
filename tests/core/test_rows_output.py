"""The log lists' cheaper output path writes exactly what DRF's general one wrote (issue 12 item 9).

``core.serializers.RowsModelSerializer`` (the log serializers) and
``core.renderers.CamelCaseJSONRenderer`` (every API view) replace per-row and
per-key machinery; their output is a contract (DESIGN §4 C5), so each is
compared here with the path it replaces, on rows with every column filled and
with every nullable one empty, in both languages and another time zone.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from djangorestframework_camel_case.render import CamelCaseJSONRenderer as LibraryRenderer
from djangorestframework_camel_case.util import camelize as library_camelize
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from core.renderers import CamelCaseJSONRenderer, camelize
from core.serializers import RowsModelSerializer
from core.tenant_context import tenant_scope
from integrations.models import IntegrationLog
from integrations.serializers import IntegrationLogSerializer
from tests.support.oauth import make_oauth_integration
from webhooks.models import WebhookLog
from webhooks.outgoing.serializers import WebhookLogSerializer

OPTIONS = {"ignore_fields": ("headers", "body", "summary"), "ignore_keys": ("keep_me",),
           "no_underscore_before_number": True}


def _general(serializer_class):
    """``serializer_class`` writing rows through DRF's own ``Serializer.to_representation``."""

    class General(serializer_class):
        def to_representation(self, instance):
            return serializers.ModelSerializer.to_representation(self, instance)

    return General


@pytest.mark.parametrize("make", [
    lambda: None, lambda: 0, lambda: 1.5, lambda: True, lambda: "", lambda: "snake_case_text",
    lambda: {"a_b": 1, "c_d_e": {"f_g": [1, {"h_i": None}], "j": "k_l"}, "plain": [True, 2.0, "x_y"]},
    lambda: {"headers": {"X_Raw_Header": "v_w"}, "body": [{"keep_case": 1}], "response_body": {"camel_me": 1}},
    lambda: {"keep_me": {"inner_key": 1}, "summary": {"not_camelized": 2}, "failed_items": [{"entity_id": "e_1"}]},
    lambda: {"v2_field": 1, "field_2b": 2, "_leading": 3, "trailing_": 4, "double__under": 5, "UPPER_CASE": 6,
             "x" * 70 + "_long_key": 7, 12: "int key", None: "none key", (1, 2): "tuple key"},
    lambda: [("tuple_item", {"in_tuple": 1}), {"set_not": 1}],
    lambda: {"lazy": gettext_lazy("Name"), gettext_lazy("Name"): "lazy key"},
    lambda: b"bytes_become_lists",
    lambda: {"gen_value": (n for n in range(3))},
])
def test_camelize_matches_the_library(make):
    ours = camelize(make(), frozenset(OPTIONS["ignore_fields"]), frozenset(OPTIONS["ignore_keys"]))
    theirs = library_camelize(make(), **OPTIONS)
    assert ours == theirs
    assert type(ours) is type(theirs)
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)


def test_camelize_keeps_a_serializer_dict_a_serializer_dict():
    data = ReturnDict({"a_b": 1}, serializer="s")
    ours = camelize(data)
    assert isinstance(ours, ReturnDict) and ours.serializer == "s" and ours == {"aB": 1}
    assert isinstance(camelize(OrderedDict(a_b=1)), OrderedDict)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["he", "en"])
def test_log_rows_and_their_json_are_what_drf_wrote(alice, language):
    google = make_oauth_integration(alice, "google_calendar", access="ya29.a", refresh="1//r")
    now = timezone.now()
    with tenant_scope(alice.tenant.id):
        full = WebhookLog.objects.create(
            tenant_id=alice.tenant.id, webhook_id=uuid.uuid4(), webhook_type="outgoing", direction="outgoing",
            method="POST", url="https://hooks.example.com/in", headers={"X_Keep": "a_b", "Content-Type": "x"},
            body={"some_key": [1, {"deep_key": None}]}, response_status=500, response_headers={"Retry_After": "3"},
            response_body={"error_code": "e_1"}, status="failed", error_message="HTTP 500", attempt=2,
            max_attempts=3, next_retry_at=now + timedelta(minutes=1), completed_at=now, duration_ms=12,
            delivery_id=uuid.uuid4(), event_type="meeting.created", entity_event_id=uuid.uuid4(),
            result={"action_taken": "forward", "nested_list": [{"a_b": 1}]})
        empty = WebhookLog.objects.create(
            tenant_id=alice.tenant.id, webhook_id=uuid.uuid4(), webhook_type="incoming", direction="incoming",
            method="POST", url="", status="pending")
        run = IntegrationLog.objects.create(
            tenant_id=alice.tenant.id, integration=google, action="sync", direction="incoming", status="partial",
            summary={"total": 2, "failed": 1}, failed_items=[{"entity_id": "m_1", "error": "Boom"}, "odd item"],
            error_message="Provider said no", error_code="provider_error", completed_at=now, duration_ms=5,
            request_snapshot={"page_token": "t_1"}, response_snapshot={"status_code": 500})
        bare = IntegrationLog.objects.create(tenant_id=alice.tenant.id, integration=google, action="test",
                                             direction="outgoing", status="running")
        webhook_rows = list(WebhookLog.objects.filter(pk__in=[full.pk, empty.pk]).order_by("status"))
        integration_rows = list(IntegrationLog.objects.filter(pk__in=[run.pk, bare.pk]).order_by("status"))
    assert WebhookLogSerializer._plan() is not None and IntegrationLogSerializer._plan() is not None  # fast path taken

    with translation.override(language), timezone.override("America/New_York"):
        for serializer_class, rows in ((WebhookLogSerializer, webhook_rows),
                                       (IntegrationLogSerializer, integration_rows)):
            ours = serializer_class(rows, many=True).data
            theirs = _general(serializer_class)(rows, many=True).data
            assert isinstance(ours, ReturnList)
            assert [list(row.items()) for row in ours] == [list(row.items()) for row in theirs]
            page = {"count": 2, "count_capped": False, "next": None, "results": ours}
            assert CamelCaseJSONRenderer().render(page) == LibraryRenderer().render(page)
            assert serializer_class(rows[0]).data == theirs[0]  # one row (the detail views) too


class _Odd(RowsModelSerializer):
    """A field the plan does not know (a dotted source) sends every row down DRF's path."""

    tenant_name = serializers.CharField(source="tenant.name")

    class Meta:
        model = WebhookLog
        fields = ("id", "tenant_name")


@pytest.mark.django_db
def test_a_field_outside_the_plan_takes_drfs_path(alice):
    with tenant_scope(alice.tenant.id):
        row = WebhookLog.objects.create(tenant_id=alice.tenant.id, webhook_id=uuid.uuid4(), webhook_type="incoming",
                                        direction="incoming", method="POST", url="", status="pending")
        assert _Odd._plan() is None
        assert _Odd(row).data == {"id": str(row.pk), "tenant_name": alice.tenant.name}
