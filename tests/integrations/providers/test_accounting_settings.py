"""The accounting settings of seed section ג (integrations/providers/_accounting.py) as the four
accounting adapters expose them, and the Decimal money helpers behind invoices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from integrations.providers._accounting import account_for, document_number, money, split_gross, tax_rate
from integrations.providers.catalog import get_provider
from integrations.providers.registry import adapter_for

ACCOUNTING = ("quickbooks", "xero", "hashavshevet", "priority")


@pytest.mark.parametrize("provider", ACCOUNTING)
def test_defaults_are_the_seeds_with_israels_vat_and_are_valid(provider):
    adapter = adapter_for(get_provider(provider))
    defaults = adapter.settings_defaults()
    assert {k: defaults[k] for k in ("syncClients", "syncSuppliers", "syncPayments", "syncExpenses")} == dict.fromkeys(
        ("syncClients", "syncSuppliers", "syncPayments", "syncExpenses"), True)
    assert defaults["invoiceSettings"] == {"autoCreateInvoice": False, "invoicePrefix": "", "defaultPaymentTerms": 30,
                                           "defaultTaxRate": "17", "defaultAccount": "", "currency": "ILS"}
    assert defaults["accountMappings"] == {"revenue": "", "expenses": "", "retainer": "", "categories": {}}
    assert adapter.settings_errors(defaults) == {}


@pytest.mark.parametrize(("settings", "key", "fragment"), [
    ({"syncClients": "yes"}, "syncClients", "true or false"),
    ({"invoiceSettings": {"defaultTaxRate": 117}}, "invoiceSettings", "percentage"),
    ({"invoiceSettings": {"defaultTaxRate": "17.0001"}}, "invoiceSettings", "percentage"),
    ({"invoiceSettings": {"defaultPaymentTerms": -1}}, "invoiceSettings", "days"),
    ({"invoiceSettings": {"currency": "shekel"}}, "invoiceSettings", "ISO 4217"),
    ({"invoiceSettings": {"invoicePrefix": "a very long prefix"}}, "invoiceSettings", "invoicePrefix"),
    ({"invoiceSettings": {"vat": 17}}, "invoiceSettings", "unknown key"),
    ({"accountMappings": {"categories": {"materials": ""}}}, "accountMappings", "categories"),
    ({"accountMappings": {"revenue": 4000}}, "accountMappings", "revenue"),
    ({"colour": "red"}, "colour", "unknown setting"),
])
def test_bad_settings_are_refused_by_name(settings, key, fragment):
    with translation.override("en"):  # the messages follow the active language (Hebrew by default)
        errors = adapter_for(get_provider("quickbooks")).settings_errors(settings)
    assert key in errors and fragment in " ".join(errors[key])


def test_money_is_decimal_to_the_cent_and_vat_splits_exactly():
    assert money("1170") == Decimal("1170.00") and money(0.1 + 0.2) == Decimal("0.30")
    with pytest.raises(ValueError):
        money("NaN")
    for gross in ("1170.00", "0.01", "99.99", "1234567.89", "100.00"):
        net, tax = split_gross(gross, Decimal("17"))
        assert net + tax == money(gross) and net.as_tuple().exponent == -2
    assert split_gross("1170.00", Decimal("17")) == (Decimal("1000.00"), Decimal("170.00"))
    assert split_gross("100.00", Decimal("0")) == (Decimal("100.00"), Decimal("0.00"))
    assert tax_rate({}) == Decimal("17") and tax_rate({"invoiceSettings": {"defaultTaxRate": 18}}) == Decimal("18")


def test_accounts_by_category_then_kind_then_default_and_stable_numbers():
    settings = {"invoiceSettings": {"defaultAccount": "1000", "invoicePrefix": "AS-"},
                "accountMappings": {"expenses": "6000", "categories": {"materials": "6100"}}}
    assert account_for(settings, category="materials", kind="expenses") == "6100"
    assert account_for(settings, category="travel", kind="expenses") == "6000"
    assert account_for(settings, category=None, kind="revenue") == "1000"
    hub = "5d6fa845-c638-48a9-b4b2-1a4dbc70b10a"
    assert document_number(settings, hub) == "AS-5D6FA845" == document_number(settings, hub)
