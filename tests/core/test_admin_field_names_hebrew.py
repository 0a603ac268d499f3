"""The admin's column headers, form labels, actions and filters are Hebrew in Hebrew (issue 14 items 6, 7):
every field's verbose name and choice labels of the hub's models, every admin action's description,
the site's header and title, and the app and model names django-celery-beat adds to the admin."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.utils import translation

from tests.support.browser import untranslated_words

# Choice labels that name a product or a specification ("Standard Webhooks", "Meta / WhatsApp": the
# verification schemes) and the header names a signature scheme sends (webhook-id, webhook-timestamp,
# webhook-signature) stay as they are written.
NAMES = ("Standard", "Meta", "id", "timestamp", "signature")
OURS = ("core", "tenancy", "entities", "integrations", "webhooks", "incoming", "outgoing", "webhooks_incoming")


def _our_models():
    return [m for c in apps.get_app_configs() if c.label in OURS for m in c.get_models()]


def test_every_field_name_and_choice_label_is_hebrew_in_hebrew():
    with translation.override("he"):
        found = []
        for model in _our_models():
            for field in model._meta.get_fields():
                if not hasattr(field, "verbose_name") or field.auto_created and not field.concrete:
                    continue
                texts = [str(field.verbose_name)] + [str(label) for _v, label in (field.choices or [])]
                found += [(f"{model._meta.label}.{field.name}", t) for t in texts if untranslated_words(t, allow=NAMES)]
    assert len(_our_models()) > 20
    assert not found, found


def test_every_admin_action_and_the_site_titles_are_hebrew_in_hebrew():
    with translation.override("he"):
        site = admin.site
        texts = [("site_header", str(site.site_header)), ("site_title", str(site.site_title)),
                 ("index_title", str(site.index_title))]
        for model, model_admin in site._registry.items():
            for _func, name, description in model_admin._get_base_actions():
                description = str(description) % {"verbose_name_plural": model._meta.verbose_name_plural}
                texts.append((f"{model._meta.label}.{name}", description))
            texts.append((model._meta.label, str(model._meta.verbose_name_plural)))
        texts.append(("django_celery_beat", str(apps.get_app_config("django_celery_beat").verbose_name)))
        found = [(where, t) for where, t in texts if untranslated_words(t, allow=("Architect", "Studio"))]
    assert len(texts) > 30
    assert not found, found


def test_and_english_in_english():
    with translation.override("en"):
        assert str(admin.site.site_header) == "Architect Studio — Integrations Hub"
        from webhooks.models import WebhookLog

        assert str(WebhookLog._meta.get_field("next_retry_at").verbose_name) == "next retry at"
