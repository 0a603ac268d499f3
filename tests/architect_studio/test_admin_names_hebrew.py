"""Every app's and model's name in the admin is Hebrew when the language is Hebrew (issue 14 item 6)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.utils import translation

from tests.support.browser import untranslated_words

OURS = ("core", "tenancy", "entities", "integrations", "webhooks", "incoming", "outgoing")


def _names() -> list[tuple[str, str]]:
    names = []
    for config in apps.get_app_configs():
        if config.label not in OURS:
            continue
        names.append((config.label, str(config.verbose_name)))
        for model in config.get_models():
            names.append((model._meta.label, str(model._meta.verbose_name)))
            names.append((model._meta.label, str(model._meta.verbose_name_plural)))
    return names


def test_every_app_and_model_name_is_hebrew_in_hebrew():
    with translation.override("he"):
        names = _names()
    assert len(names) > 20
    untranslated = [(where, name) for where, name in names if untranslated_words(name)]
    assert not untranslated, untranslated


def test_and_english_in_english():
    with translation.override("en"):
        names = dict(_names())
    assert names["integrations"] == "Integrations"


@pytest.mark.django_db
def test_the_admin_index_shows_hebrew_app_names(admin_client):
    html = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="he").content.decode()
    assert "אינטגרציות" in html
    assert "Outgoing webhooks" not in html and "Incoming webhooks" not in html
