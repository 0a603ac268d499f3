"""Mailchimp's adapter: Basic auth with the API key, whose suffix names the datacenter."""

from __future__ import annotations

import re
from collections.abc import Mapping

from integrations.providers.adapter import ProviderAdapter, basic

_DATACENTER_SUFFIX = re.compile(r"-[a-z]+\d+$")


class MailchimpAdapter(ProviderAdapter):
    def credential_headers(self, values: Mapping[str, str]) -> dict[str, str]:
        # Any user name works; the key is the password.
        return {"Authorization": basic("anystring", values.get("apiKey", ""))}

    def credential_errors(self, values: Mapping[str, str]) -> dict[str, list[str]]:
        if values.get("apiKey") and not _DATACENTER_SUFFIX.search(values["apiKey"]):
            return {"apiKey": ["a Mailchimp key ends with its datacenter, e.g. -us6"]}
        return {}

    def derived_config(self, values: Mapping[str, str]) -> dict[str, str]:
        # The API origin is https://{dc}.api.mailchimp.com: dc is the key's suffix.
        if values.get("apiKey"):
            return {"dc": values["apiKey"].rsplit("-", 1)[1]}
        return {}
