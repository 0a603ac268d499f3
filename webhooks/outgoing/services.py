"""Outgoing webhooks: the public names of the outgoing side, one import for views, admin, tasks and tests.

One file per concern, each read top-down:

- :mod:`webhooks.outgoing.config` - validation of a webhook's settings; create / update / delete;
- :mod:`webhooks.outgoing.payload` - the body (default or templated) and the signed headers;
- :mod:`webhooks.outgoing.delivery` - fan-out → claim → send → record (the hub's one delivery
  engine: outgoing webhooks' attempts and incoming ``forward`` actions' alike);
- :mod:`webhooks.outgoing.targets` - an attempt's target: a webhook's, or a forward action's;
- :mod:`webhooks.outgoing.sweeper` - the beat sweeper: due retries, lost attempts;
- :mod:`webhooks.outgoing.attempts` - attempt rows, leases, wake-ups by task name;
- :mod:`webhooks.outgoing.sender` - the process's pool of requests in flight;
- :mod:`webhooks.outgoing.repository` - the raw SQL statements, each with its SQLite twin;
- :mod:`webhooks.outgoing.retries` - retry policy, due retries, manual replays;
- :mod:`webhooks.outgoing.preview` - the builder's preview, placeholder list and test sends;
- :mod:`webhooks.outgoing.retention` - log retention.

Tasks import these modules; none of them imports a task (tests/architect_studio/test_architecture.py).
"""

from __future__ import annotations

from webhooks.outgoing.attempts import (  # noqa: F401
    DISPATCH_TASK,
    FIRE_RETRY_TASK,
    attempt_lease,
    dispatch_wake,
)
from webhooks.outgoing.config import (  # noqa: F401
    _FIELDS,
    MAX_HEADER_NAME,
    MAX_HEADER_VALUE,
    MAX_HEADERS,
    MAX_TRIGGERS,
    RESERVED_HEADERS,
    ROTATION_GRACE,
    SECRET_MASK,
    WebhookConfigError,
    _apply,
    outgoing_webhook_create,
    outgoing_webhook_delete,
    outgoing_webhook_update,
    validate_headers,
    validate_payload_template,
    validate_secret,
    validate_triggers,
    validate_url,
)
from webhooks.outgoing.delivery import (  # noqa: F401
    deliveries_create_for_event,
    deliveries_create_for_events,
    deliveries_dispatch,
    webhook_disable,
)
from webhooks.outgoing.payload import (  # noqa: F401
    DELIVERY_NAMESPACE,
    build_headers,
    delivery_id_for,
    render_body,
)
from webhooks.outgoing.preview import (  # noqa: F401
    entity_for_preview,
    sample_entity,
    template_placeholders,
    webhook_preview,
    webhook_test_send,
)
from webhooks.outgoing.retention import (  # noqa: F401
    logs_cleanup,
)
from webhooks.outgoing.retries import (  # noqa: F401
    EXPONENTIAL_SCHEDULE,
    JITTER,
    OVERLOAD_MIN_DELAY,
    ReplayRefused,
    log_replay,
    retry_delay,
    retry_fire,
)
from webhooks.outgoing.sweeper import deliveries_sweep  # noqa: F401

_lease = attempt_lease  # the name tests/core/test_outbound_deadline.py measures leases by
