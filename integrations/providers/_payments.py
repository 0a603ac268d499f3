"""What the three payment providers share (seed section ג, PaymentProviderConfig): the
settings, and money as Decimal.

``Integration.settings`` of a payment integration, camelCase as the seed writes it (the
seed's ``config.apiKey`` / ``config.webhookSecret`` are credentials, stored encrypted, so
they are not settings)::

    {"currency": "ILS", "allowPartialPayments": false, "feePercent": 0, "feeFixed": 0,
     "autoUpdatePaymentStatus": true, "autoRecordTransaction": true,
     "notifyOnPayment": true, "notifyOnFailure": true}

``currency`` is the default of a payment page when the payment names none (ISO 4217, three
letters). ``feePercent`` / ``feeFixed`` are decimal strings or numbers (0-100 %, >= 0) kept
for the studio's books; the hub does not add them to what the payer is charged.
``autoUpdatePaymentStatus: false`` records a provider's result without changing the
payment's status; ``autoRecordTransaction: false`` stops a provider's payment that the hub
did not ask for from creating a payment here.

What a hosted page's result does (PayPlus, Cardcom; ``settle`` here, applied to the linked
payment by ``integrations.sync.payment_results``): an approved charge of the whole amount
(or more) pays the payment; a smaller one pays it only in part -- with
``allowPartialPayments`` off it changes nothing (the payment stays ``pending``), on it
records ``amount_paid`` and leaves the status ``pending`` (the payment model has no
partially-paid status) until a charge of the whole amount arrives. Neither provider
documents a partial-payment field for its page, so the page always asks for the whole
amount and the rule is the hub's. Each recorded charge stores ``fee_amount`` = gross ×
feePercent / 100 + feeFixed (Decimal, half-up to two places, at most the gross) and
``net_amount`` = gross - fee. ``notifyOnPayment`` / ``notifyOnFailure`` publish
``payment.received`` / ``payment.failed`` to the tenant's browsers.

Amounts: Stripe counts in the currency's minor unit (``amount: 1000`` is 10.00 ILS, ¥1000 is
1000 JPY); ``to_decimal`` / ``to_minor`` convert with the exponent of each currency as Stripe
documents them (https://docs.stripe.com/currencies#zero-decimal, #three-decimal). Nothing
here passes through a float.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from integrations.providers.adapter import Caller, ChangePage, RemoteChange

#: https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                          "VUV", "XAF", "XOF", "XPF"})
#: https://docs.stripe.com/currencies#three-decimal (Stripe requires the last digit to be 0)
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

FLAGS = ("allowPartialPayments", "autoUpdatePaymentStatus", "autoRecordTransaction", "notifyOnPayment",
         "notifyOnFailure")
NUMBERS = ("feePercent", "feeFixed")
KEYS = ("currency", *FLAGS, *NUMBERS)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
CENT = Decimal("0.01")
#: Above what a payment holds (14 digits, 2 of them decimals): a reported amount this large is unreadable.
MAX_AMOUNT = Decimal(10) ** 12


class MoneyError(ValueError):
    """An amount that is not a whole number of minor units, or not a number at all."""


def exponent(currency: str) -> int:
    code = (currency or "").upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_decimal(minor: Any, currency: str) -> Decimal:
    """Stripe's integer amount in ``currency``'s minor unit -> a Decimal of major units
    (at most two places: a three-decimal currency's amounts end in 0 at Stripe)."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise MoneyError(f"expected a whole number of minor units, got {minor!r}")
    value = Decimal(minor).scaleb(-exponent(currency))
    return value.quantize(Decimal("0.01")) if exponent(currency) == 3 and minor % 10 == 0 else value


def to_minor(amount: Any, currency: str) -> int:
    """A Decimal (or decimal string) of major units -> an integer of minor units."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise MoneyError(f"not an amount: {amount!r}") from None
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} {currency} is not a whole number of minor units")
    return int(scaled.to_integral_value(ROUND_HALF_UP))


def money(value: Any) -> str:
    """A Decimal as the entity serializer takes it (a string, two places)."""
    return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def json_amount(value: Any) -> float:
    """A Decimal amount as a JSON number for a provider that wants one (PayPlus ``amount``,
    Cardcom ``Amount``). Quantized to two places first; a float's repr is the shortest string
    that reads back to it, which for amounts below 10^13 is exactly those digits."""
    try:
        return float(Decimal(money(value)))
    except (InvalidOperation, TypeError, ValueError):
        raise MoneyError(f"not an amount: {value!r}") from None


class PaymentSettings:
    """Mixin for a ProviderAdapter (listed first): PaymentProviderConfig's settings and checks."""

    def settings_defaults(self) -> dict[str, Any]:
        return {"currency": "ILS", "allowPartialPayments": False, "feePercent": 0, "feeFixed": 0,
                "autoUpdatePaymentStatus": True, "autoRecordTransaction": True, "notifyOnPayment": True,
                "notifyOnFailure": True}

    def creates_local(self, local_type: str, settings: Mapping[str, Any]) -> bool:
        """``autoRecordTransaction: false``: a provider's payment the hub did not ask for (a
        Stripe PaymentIntent without the hub's id) creates no payment here; payments linked,
        or stamped with the hub's id (``metadata.architectStudioId``), are still updated."""
        if local_type == "payment":
            return settings.get("autoRecordTransaction") is not False
        return super().creates_local(local_type, settings)  # type: ignore[misc]

    def settings_errors(self, value: Mapping[str, Any]) -> dict[str, list[str]]:
        if not isinstance(value, Mapping):
            return {"settings": [_("must be an object")]}
        errors: dict[str, list[str]] = {}
        for key in sorted(set(value) - set(KEYS)):
            errors[str(key)[:100]] = [_("unknown setting (known: %(known)s)") % {"known": ", ".join(KEYS)}]
        if "currency" in value and not (isinstance(value["currency"], str) and _CURRENCY.match(value["currency"])):
            errors["currency"] = [_("must be a three-letter ISO 4217 code in capitals, e.g. 'ILS'")]
        for key in FLAGS:
            if key in value and not isinstance(value[key], bool):
                errors[key] = [_("must be true or false")]
        for key in NUMBERS:
            if key in value:
                number = _number(value[key])
                top = Decimal(100) if key == "feePercent" else Decimal("1000000")
                if number is None or not Decimal(0) <= number <= top:
                    errors[key] = [_("must be a number from 0 to %(max)s") % {"max": top}]
                elif key == "feeFixed" and number != number.quantize(CENT):
                    errors[key] = [_("must have at most two decimal places (agorot)")]
        return errors


def payment_result(result: str, amount: Any, key: str) -> dict[str, Any]:
    """The ``raw`` keys a hosted page's callback adds for ``settle``: ``hub_result``
    (``approved`` / ``declined`` / ``refunded``), ``hub_paid`` (the amount charged, a two-place
    decimal string, None when not reported, not a number, negative or beyond what a payment holds) and ``hub_result_key`` (the
    transaction's identity: the same result twice is one result)."""
    paid = None
    if not isinstance(amount, bool) and isinstance(amount, int | float | str | Decimal):
        number = _number(amount)
        paid = money(number) if number is not None and 0 <= number < MAX_AMOUNT else None
    return {"hub_result": result, "hub_paid": paid, "hub_result_key": key[:200]}


@dataclass(frozen=True)
class Settlement:
    """What one result does to a payment: its status, and what is recorded (None: nothing)."""

    status: str
    amount_paid: Decimal | None = None
    fee: Decimal | None = None
    net: Decimal | None = None
    failed: bool = False

    @property
    def recorded(self) -> bool:
        return self.amount_paid is not None


def fee_of(gross: Decimal, settings: Mapping[str, Any]) -> Decimal:
    """feePercent of ``gross`` plus feeFixed, half-up to agorot, never more than ``gross``."""
    percent = _number(settings.get("feePercent", 0)) or Decimal(0)
    fixed = _number(settings.get("feeFixed", 0)) or Decimal(0)
    fee = (gross * percent / Decimal(100) + fixed).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(fee, gross)


def settle(settings: Mapping[str, Any], amount: Decimal, raw: Mapping[str, Any]) -> Settlement:
    """A hosted page's result (``payment_result``'s keys in ``raw``) against the payment's
    ``amount`` and the integration's settings. An approval that reports no amount is taken
    as the whole amount (the page asked for it)."""
    status = str(raw.get("hub_status") or "pending")
    result = raw.get("hub_result")
    if result == "declined":
        return Settlement(status=status, failed=True)
    if result != "approved":
        return Settlement(status=status)
    gross = Decimal(str(raw["hub_paid"])) if raw.get("hub_paid") is not None else Decimal(amount)
    gross = gross.quantize(CENT, rounding=ROUND_HALF_UP)
    if gross < amount and settings.get("allowPartialPayments") is not True:
        return Settlement(status="pending")  # not the whole amount, and parts are not accepted
    fee = fee_of(gross, settings)
    return Settlement(status="paid" if gross >= amount else "pending", amount_paid=gross, fee=fee, net=gross - fee)


class HostedPaymentPages:
    """Mixin for a ProviderAdapter (listed first) whose export is a hosted payment page
    (PayPlus, Cardcom): each payment becomes a page (the adapter's ``push_create``), its
    result comes back as a callback (``hook_changes``), not in a feed; a page cannot be changed
    or deleted through the API (it expires at the provider). ``page_type`` is the remote type
    and ``page_mapping`` its default mapping from ``payment``."""

    receives_hooks = True
    settles_payments = True  # the callbacks' results go through ``settle`` (integrations.sync.payment_results)
    page_type: str
    page_mapping: list[dict[str, Any]]

    def default_mappings(self, local_type: str, remote_type: str) -> list[dict[str, Any]]:
        if (local_type, remote_type) == ("payment", self.page_type):
            return copy.deepcopy(self.page_mapping)
        return []

    def list_changes(self, client: Caller, *, container: str, cursor: str | None) -> ChangePage:
        return ChangePage((), None, done=True)  # no feed: results arrive as callbacks

    def push_update(self, client: Caller, *, container: str, remote_id: str, record: Mapping[str, Any],
                    version: str | None) -> RemoteChange:
        return RemoteChange(remote_id=remote_id, deleted=False, raw={})  # a page cannot be changed

    def push_delete(self, client: Caller, *, container: str, remote_id: str, version: str | None) -> None:
        return None  # nothing to delete: an unused page expires at the provider


def page_created(record: Mapping[str, Any], hub_id: str, page_id: str, **page: Any) -> RemoteChange:
    """The change a new payment page makes: the record plus the page's own fields, ``pending``."""
    return RemoteChange(remote_id=str(page_id), deleted=False, raw={**dict(record), **page, "hub_status": "pending"},
                        hub_id=str(hub_id))


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
