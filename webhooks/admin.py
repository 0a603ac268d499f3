"""Admin registrations live with each side."""

from webhooks.incoming import admin as incoming_admin  # noqa: F401
from webhooks.outgoing import admin as outgoing_admin  # noqa: F401
