"""The provider registry: one line per provider, in the seed's order.

Each name is a folder of this package holding ``entry.py`` (the catalog entry,
``PROVIDER``) and ``adapter.py`` (its ``ProviderAdapter``), both exported by
the folder's ``__init__``; a provider whose webhooks carry its own kind of
signature exports its verification scheme too (``SCHEME``, a
:class:`core.signatures.Scheme` named as ``PROVIDER.webhook_scheme``). The order here is the catalog's order (the
integrations page, the model's choices). Adding a provider: see README.md.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from core.signatures import Scheme
from integrations.providers.adapter import ProviderAdapter
from integrations.providers.base import Provider, UnknownProvider

REGISTERED: tuple[str, ...] = (
    "google_calendar",
    "outlook_calendar",
    "apple_calendar",
    "google_drive",
    "dropbox",
    "onedrive",
    "quickbooks",
    "xero",
    "hashavshevet",
    "priority",
    "whatsapp_business",
    "twilio",
    "sendgrid",
    "mailchimp",
    "stripe",
    "payplus",
    "cardcom",
    "canva",
    "figma",
    "hubspot",
    "monday",
    "custom_webhook",
    "custom_api",
)


def _load(name: str) -> ModuleType:
    module = import_module(f"{__package__}.{name}")
    provider, adapter = getattr(module, "PROVIDER", None), getattr(module, "ADAPTER", None)
    if not isinstance(provider, Provider) or provider.id != name:
        raise ImportError(f"providers/{name}: PROVIDER must be the Provider with id {name!r}")
    if not (isinstance(adapter, type) and issubclass(adapter, ProviderAdapter)):
        raise ImportError(f"providers/{name}: ADAPTER must be a ProviderAdapter subclass")
    scheme = getattr(module, "SCHEME", None)
    if scheme is not None and (not isinstance(scheme, Scheme) or scheme.name != provider.webhook_scheme):
        raise ImportError(f"providers/{name}: SCHEME must be the Scheme named {provider.webhook_scheme!r}")
    return module


def _webhook_schemes(plugins: dict[str, ModuleType]) -> dict[str, Scheme]:
    """Scheme name -> the scheme its providers export (two providers may share one:
    Google's push channels, Microsoft Graph), first seen first."""
    schemes: dict[str, Scheme] = {}
    for name, module in plugins.items():
        scheme = getattr(module, "SCHEME", None)
        if scheme is None:
            continue
        if schemes.setdefault(scheme.name, scheme) is not scheme:
            raise ImportError(f"providers/{name}: another provider exports a different scheme {scheme.name!r}")
    return schemes


PLUGINS: dict[str, ModuleType] = {name: _load(name) for name in REGISTERED}
PROVIDERS: dict[str, Provider] = {name: module.PROVIDER for name, module in PLUGINS.items()}
ADAPTERS: dict[str, type[ProviderAdapter]] = {name: module.ADAPTER for name, module in PLUGINS.items()}
#: The provider-specific webhook verification schemes (``webhooks.verification`` adds the generic ones).
WEBHOOK_SCHEMES: dict[str, Scheme] = _webhook_schemes(PLUGINS)


def adapter_for(provider: Provider) -> ProviderAdapter:
    """The adapter for this entry (it may be a copy with replaced fields, as tests make)."""
    try:
        return ADAPTERS[provider.id](provider)
    except KeyError:
        raise UnknownProvider(f"unknown provider: {provider.id!r}") from None
