"""The words the webhook pages show for the API's values (Hebrew through the catalog)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# The names of the stored schemes and strategies are the model fields' choices (one source).
from webhooks.models import RETRY_LABELS, SCHEME_NAMES, SIGNATURE_SCHEME_LABELS  # noqa: F401

ENTITY_LABELS = {
    "meeting": _("Meeting"), "task": _("Task"), "document": _("Document"), "payment": _("Payment"),
    "expense": _("Expense"), "client": _("Client"), "supplier": _("Supplier"),
}
EVENT_LABELS = {
    "created": _("created"), "updated": _("updated"), "deleted": _("deleted"), "status_changed": _("status changed"),
}
ACTION_LABELS = {
    "create_entity": _("Create a record"),
    "update_entity": _("Update a record"),
    "trigger_automation": _("Run an automation"),
    "forward": _("Forward to another address"),
}
STATUS_LABELS = {
    "success": _("success"), "failed": _("failed"), "pending": _("pending"), "filtered": _("filtered"),
    "dropped": _("dropped"), "queued": _("queued"), "skipped": _("skipped"),
}
METHOD_CHOICES = ("POST", "PUT", "PATCH")
#: Per verification scheme: what to do at the sender, in the user's words (its name: SCHEME_NAMES).
SCHEME_INSTRUCTIONS = {
    "hmac": _("The sender signs the body with the secret below: hex HMAC-SHA256 in the X-Webhook-Signature "
              "header (a sha256= prefix is accepted). Standard Webhooks headers are accepted too."),
    "standard": _("Give the sender the secret below (it starts with whsec_). It sends the webhook-id, "
                  "webhook-timestamp and webhook-signature headers; requests older than 5 minutes are refused."),
    "stripe": _("In Stripe's dashboard, add this URL as an endpoint and paste its signing secret "
                "(whsec_…) here with \"replace secret\"."),
    "twilio": _("In Twilio's console, set this URL as the webhook and paste your account's auth token as the secret."),
    "meta": _("In the Meta app's webhook settings, set this URL, paste the app secret as the secret and the "
              "verify token in \"verify token\"."),
    "dropbox": _("In the Dropbox app console, add this URL as the webhook and paste the app secret as the secret."),
    "graph": _("The hub creates the Microsoft Graph subscription with this URL; set the client state value."),
    "hubspot": _("In the HubSpot app's webhook settings, set this URL and paste the app's client secret as the secret."),
    "xero": _("In Xero's developer portal, set this URL and paste the webhook key as the secret."),
    "quickbooks": _("In the Intuit developer portal, set this URL and paste the verifier token as the secret."),
    "sendgrid": _("In SendGrid, enable the signed event webhook with this URL and paste its public key."),
    "google_channel_token": _("The hub creates the Google push channel with the secret as its token."),
    "monday_jwt": _("In the monday.com app, set this URL and paste the signing secret as the secret."),
    "payplus": _("In PayPlus, set this URL as the callback and paste the secret key as the secret."),
    "none": _("Anyone who knows the URL can send requests. Not recommended."),
}
VERIFICATION_FIELD_LABELS = {
    "signatureHeader": _("Signature header"),
    "toleranceSeconds": _("Time window (seconds)"),
    "clientState": _("Client state"),
    "verifyToken": _("Verify token"),
    "publicKey": _("Public key"),
}


def choices(labels: dict) -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in labels.items()]
