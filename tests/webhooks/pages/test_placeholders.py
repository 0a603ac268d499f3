"""The placeholder helper's list: every path a template can use for the chosen triggers."""

from __future__ import annotations

import json

import pytest

from webhooks.outgoing import services
from webhooks.templating import build_context, render_template


@pytest.mark.django_db
def test_placeholders_cover_the_context_and_each_chosen_entitys_fields(alice):
    # given triggers on meetings and payments
    found = services.template_placeholders(tenant=alice.tenant, entity_types=["meeting", "payment"])
    paths = [p["path"] for p in found]
    # then the event's own names come first, then each entity's fields (camelCase, as rendered)
    assert paths[:5] == ["event", "entityType", "entityId", "tenantId", "timestamp"]
    assert "entity.title" in paths and "entity.startTime" in paths and "entity.attendees" in paths
    assert "entity.amount" in paths and "entity.currency" in paths
    assert len(paths) == len(set(paths))
    # and a field of a type that was not chosen is not offered
    assert "entity.mimeType" not in paths
    # and every offered path of a meeting renders the sample meeting's value
    entity = services.sample_entity(tenant=alice.tenant, entity_type="meeting")
    context = build_context(entity=entity, entity_type="meeting", entity_id="x", event="created",
                            tenant_id=str(alice.tenant.id), timestamp="t")
    checked = 0
    for item in found:
        if "meeting" not in item["entityTypes"]:
            continue
        body = json.loads(render_template('{"v": {{' + item["path"] + "}}}", context))
        assert body["v"] == entity[item["path"].removeprefix("entity.")], item["path"]
        checked += 1
    assert checked == len(entity)


@pytest.mark.django_db
def test_placeholders_without_triggers_are_the_context_names_only(alice):
    found = services.template_placeholders(tenant=alice.tenant, entity_types=[])
    assert [p["path"] for p in found] == ["event", "entityType", "entityId", "tenantId", "timestamp"]


@pytest.mark.django_db
def test_unknown_entity_types_are_ignored(alice):
    found = services.template_placeholders(tenant=alice.tenant, entity_types=["nope", "task"])
    assert "entity.priority" in [p["path"] for p in found]
