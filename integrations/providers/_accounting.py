"""Settings and money helpers shared by the accounting adapters (QuickBooks, Xero,
Hashavshevet, Priority): seed section ג, AccountingIntegrationConfig.settings.

``Integration.settings`` of an accounting integration, camelCase as the seed writes it::

    {"syncClients": true, "syncSuppliers": true, "syncPayments": true, "syncExpenses": true,
     "invoiceSettings": {"autoCreateInvoice": false, "invoicePrefix": "AS-", "defaultPaymentTerms": 30,
                         "defaultTaxRate": "17", "defaultAccount": "", "currency": "ILS"},
     "accountMappings": {"revenue": "", "expenses": "", "retainer": "", "categories": {"materials": "5100"}}}

The ``sync<Type>s`` flags are the engine's (``integrations.sync.plan``: false leaves that pair
out). Beyond the seed, each optional: ``invoiceSettings.currency`` (ISO 4217, the invoices'
currency; default ILS), ``accountMappings.categories`` (an expense's local ``category`` -> the
ledger account it is booked to; ``expenses`` is the fallback), ``timeZone`` (IANA) and the
keys an adapter adds (``EXTRA_KEYS``: Priority's form names, Xero's organisation).
``defaultTaxRate`` is a percentage (17 = Israel's VAT since 2025) kept as a decimal string;
amounts are ``Decimal`` end to end (never float): ``money`` / ``tax_rate`` below.
Validation is strict: unknown keys, wrong types and over-long strings are refused by name.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from integrations.providers.common import is_zone

FLAGS = ("syncClients", "syncSuppliers", "syncPayments", "syncExpenses")
#: Israel's standard VAT rate (17% since 1 January 2025).
ISRAEL_VAT = "17"
INVOICE_DEFAULTS: dict[str, Any] = {
    "autoCreateInvoice": False, "invoicePrefix": "", "defaultPaymentTerms": 30,
    "defaultTaxRate": ISRAEL_VAT, "defaultAccount": "", "currency": "ILS",
}
ACCOUNT_DEFAULTS: dict[str, Any] = {"revenue": "", "expenses": "", "retainer": "", "categories": {}}
MAX_TEXT = 100
MAX_PREFIX = 10
MAX_CATEGORIES = 200
MAX_TERMS_DAYS = 3650
_CURRENCY = re.compile(r"^[A-Z]{3}$")
CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """An amount as Decimal with 2 places (half-up); refuses floats' binary noise by going
    through ``str`` and refuses non-finite values."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{str(value)[:40]!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{str(value)[:40]!r} is not an amount")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


#: How much of an invoice is paid, as the payment stand-in's statuses: the stand-in has no
#: "partial", so a partly paid invoice stays ``pending`` (still owed); ``hub_payment`` in the
#: record keeps the three states apart for a mapping that wants them.
STATUS_OF_PAYMENT = {"paid": "paid", "partial": "pending", "unpaid": "pending"}
#: The import-only rule every accounting adapter's invoice mapping ends with: the provider's
#: balance sets the payment's status; an export never sends it (so never overwrites a
#: provider-paid status), and a local status is never a local change to export.
STATUS_RULE: dict[str, Any] = {"localEntity": "payment", "localField": "status", "remoteField": "hub_status",
                               "transformConfig": {"direction": "import"}}


def without_amounts_when_paid(body: dict[str, Any], current_raw: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """An update of an invoice the provider says is paid leaves its amounts alone: new lines
    would reopen (or overpay) the balance the provider's payments closed."""
    if current_raw.get("hub_payment") == "paid":
        for name in fields:
            body.pop(name, None)
    return body


def payment_state(total: Any, due: Any) -> str | None:
    """``paid`` (nothing due), ``partial`` (less due than the total) or ``unpaid``, from the
    provider's total and amount still due; None when either is missing or not an amount."""
    try:
        total_amount, due_amount = money(total), money(due)
    except ValueError:
        return None
    if due_amount <= 0:
        return "paid"
    return "partial" if due_amount < total_amount else "unpaid"


def with_payment_status(raw: dict[str, Any], state: str | None) -> dict[str, Any]:
    """``raw`` with ``hub_payment`` (the state) and ``hub_status`` (the stand-in's status) when known."""
    if state is not None:
        raw["hub_payment"], raw["hub_status"] = state, STATUS_OF_PAYMENT[state]
    return raw


def tax_rate(settings: Mapping[str, Any]) -> Decimal:
    """``invoiceSettings.defaultTaxRate`` as a Decimal percentage (17 when unset)."""
    raw = ((settings or {}).get("invoiceSettings") or {}).get("defaultTaxRate", ISRAEL_VAT)
    return Decimal(str(raw))


def split_gross(gross: Any, rate: Decimal) -> tuple[Decimal, Decimal]:
    """A tax-inclusive amount -> (net, tax), each to the cent, net + tax == gross exactly."""
    total = money(gross)
    net = (total * 100 / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, total - net


def invoice_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {**INVOICE_DEFAULTS, **((settings or {}).get("invoiceSettings") or {})}


def account_for(settings: Mapping[str, Any], *, category: str | None, kind: str) -> str:
    """The ledger account for a record: the category's mapping, else ``accountMappings[kind]``
    (``revenue`` / ``expenses``), else ``invoiceSettings.defaultAccount``; "" when none."""
    accounts = {**ACCOUNT_DEFAULTS, **((settings or {}).get("accountMappings") or {})}
    by_category = accounts.get("categories") or {}
    if category and by_category.get(category):
        return str(by_category[category])
    return str(accounts.get(kind) or invoice_settings(settings).get("defaultAccount") or "")


def document_number(settings: Mapping[str, Any], hub_id: str, *, limit: int = 21) -> str:
    """The invoice number: ``invoicePrefix`` + the first hex digits of the hub id -- the same
    on every retry of one payment (a stable number, never a counter that a lost answer would
    skip), within the provider's ``limit`` (QuickBooks DocNumber: 21 characters)."""
    prefix = str(invoice_settings(settings).get("invoicePrefix") or "")
    return (prefix + hub_id.replace("-", "")[:8].upper())[:limit]


def amount_transform(currency_field: str) -> dict[str, Any]:
    """Amounts go through the engine's currency transform: Decimal to the cent both ways, in the
    record's own currency by default (both codes read from the mapped fields, the remote one at
    ``currency_field``); a tenant who keeps the books in another currency sets ``to`` (e.g.
    "USD") and the CurrencyRate table converts on the record's date."""
    return {"transform": "currency_convert",
            "transformConfig": {"fromField": "currency", "toField": currency_field, "from": "ILS", "to": "ILS"}}


class AccountingSettings:
    """Mixin for a ProviderAdapter (listed first): the seed's accounting settings."""

    #: Keys an adapter adds to the seed's, with a check each (value -> problems).
    EXTRA_KEYS: dict[str, Any] = {}
    #: Defaults of the extra keys.
    EXTRA_DEFAULTS: dict[str, Any] = {}

    def settings_defaults(self) -> dict[str, Any]:
        return {**{flag: True for flag in FLAGS}, "invoiceSettings": copy.deepcopy(INVOICE_DEFAULTS),
                "accountMappings": copy.deepcopy(ACCOUNT_DEFAULTS), **copy.deepcopy(self.EXTRA_DEFAULTS)}

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        if not isinstance(value, Mapping):
            return {"settings": [_("must be an object")]}
        known = {*FLAGS, "invoiceSettings", "accountMappings", "timeZone", *self.EXTRA_KEYS}
        errors: dict[str, list[str]] = {}
        for key in sorted(set(value) - known, key=str):
            errors[str(key)[:100]] = [_("unknown setting (known: %(known)s)") % {"known": ", ".join(sorted(known))}]
        for flag in FLAGS:
            if flag in value and not isinstance(value[flag], bool):
                errors[flag] = [_("must be true or false")]
        if "timeZone" in value and not is_zone(value["timeZone"]):
            errors["timeZone"] = [_("must be an IANA time zone name such as 'Asia/Jerusalem'")]
        if "invoiceSettings" in value:
            problems = _invoice_errors(value["invoiceSettings"])
            if problems:
                errors["invoiceSettings"] = problems
        if "accountMappings" in value:
            problems = _account_errors(value["accountMappings"])
            if problems:
                errors["accountMappings"] = problems
        for key, check in self.EXTRA_KEYS.items():
            if key in value:
                problems = check(value[key])
                if problems:
                    errors[key] = problems
        return errors


def _text(value: Any, limit: int = MAX_TEXT) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _invoice_errors(value: Any) -> list[str]:
    if not isinstance(value, Mapping):
        return [_("must be an object")]
    problems = [_("unknown key %(key)s") % {"key": repr(str(k)[:50])} for k in sorted(set(value) - set(INVOICE_DEFAULTS), key=str)]
    if "autoCreateInvoice" in value and not isinstance(value["autoCreateInvoice"], bool):
        problems.append(_("autoCreateInvoice must be true or false"))
    if "invoicePrefix" in value and not (_text(value["invoicePrefix"], MAX_PREFIX)
                                         and re.fullmatch(r"[A-Za-z0-9_\-/]*", value["invoicePrefix"])):
        problems.append(_("invoicePrefix must be at most %(n)s letters, digits, '-', '_' or '/'") % {"n": MAX_PREFIX})
    terms = value.get("defaultPaymentTerms", 0)
    if isinstance(terms, bool) or not isinstance(terms, int) or not 0 <= terms <= MAX_TERMS_DAYS:
        problems.append(_("defaultPaymentTerms must be a whole number of days from 0 to %(max)s") % {"max": MAX_TERMS_DAYS})
    if "defaultTaxRate" in value:
        rate = value["defaultTaxRate"]
        try:
            parsed = Decimal(str(rate)) if not isinstance(rate, bool) and isinstance(rate, int | float | str) else None
        except InvalidOperation:
            parsed = None
        if parsed is None or not parsed.is_finite() or not Decimal(0) <= parsed <= Decimal(100) \
                or parsed != parsed.quantize(Decimal("0.001")):
            problems.append(_("defaultTaxRate must be a percentage from 0 to 100 (at most 3 decimals), e.g. 17"))
    if "defaultAccount" in value and not _text(value["defaultAccount"]):
        problems.append(_("defaultAccount must be a string of at most %(n)s characters") % {"n": MAX_TEXT})
    if "currency" in value and not (isinstance(value["currency"], str) and _CURRENCY.match(value["currency"])):
        problems.append(_("currency must be an ISO 4217 code such as 'ILS'"))
    return problems


def _account_errors(value: Any) -> list[str]:
    if not isinstance(value, Mapping):
        return [_("must be an object")]
    problems = [_("unknown key %(key)s") % {"key": repr(str(k)[:50])} for k in sorted(set(value) - set(ACCOUNT_DEFAULTS), key=str)]
    for key in ("revenue", "expenses", "retainer"):
        if key in value and not _text(value[key]):
            problems.append(_("%(key)s must be a ledger account code or name of at most %(n)s characters")
                            % {"key": key, "n": MAX_TEXT})
    categories = value.get("categories", {})
    if not isinstance(categories, Mapping) or len(categories) > MAX_CATEGORIES:
        problems.append(_("categories must be an object of at most %(n)s category -> account entries")
                        % {"n": MAX_CATEGORIES})
    else:
        for k, v in categories.items():
            if not (_text(k) and k) or not (_text(v) and v):
                problems.append(_("categories[%(key)s] must map a category to an account "
                                  "(non-empty strings of at most %(n)s characters)")
                                % {"key": repr(str(k)[:40]), "n": MAX_TEXT})
                break
    return problems
