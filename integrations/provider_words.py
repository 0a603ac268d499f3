"""A provider's failure in words (core.words): said later, by whoever reads it, in their
language -- the provider by its catalog name (``Provider.display_name``), the status and the
kind of failure translated, the provider's own words (an error it sent) kept as data.

Used where a failure is kept for later (a connection test's log row and last error, a failed
container discovery's log row) and where a page words it now."""

from __future__ import annotations

from django.utils.translation import gettext_noop as N_

from core.words import Words, names, words
from integrations.providers.base import Provider


def provider_names(provider: Provider) -> dict[str, dict[str, str]]:
    """The provider's catalog name as a words param (core.words.names): said as
    ``Provider.display_name`` says it, in the reader's language."""
    return names(en=provider.name_en, he=provider.name_he)


def test_failure_words(provider: Provider, *, status: int | None, kind: str | None, message: str) -> Words:
    """A failed call to the provider (a connection test, a discovery) as words: the provider by
    its catalog name, the status and the kind of failure (``kind``: the client's ProviderError
    kind, None for an answer); the provider's own words (``message``) kept as data after a
    translated prefix. Said by the page that ran the test, the settings page later and the
    API's ``*Text`` fields."""
    name = provider_names(provider)
    if kind == "network":
        return words(N_("%(name)s could not be reached (no answer in time). Try again in a few minutes."), name=name)
    if kind == "rate_limited":
        return words(N_("%(name)s is limiting requests right now. Try again in a minute."), name=name)
    if kind == "refused":
        return words(N_("The hub does not call this server address (a private or blocked address)."))
    if kind == "config":
        return words(N_("The connection details are incomplete or the server address is not valid."))
    if status in (401, 403):
        return words(N_("%(name)s refused the connection's credentials (HTTP %(status)s): reconnect it."),
                     name=name, status=status)
    if status:
        return words(N_("%(name)s answered HTTP %(status)s."), name=name, status=status)
    return words(N_("The provider answered: %(reason)s"), reason=message[:300])
