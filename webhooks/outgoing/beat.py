"""Beat entries of the outgoing side (pure data: imported by settings).

The sweeper runs every second so a retry fires within ~1-2 s of its
``nextRetryAt`` (C8 asks for 5 s); each run expires before the next one, so a
busy worker never accumulates a backlog of sweeps.
"""

SCHEDULE: dict = {
    "outgoing-webhooks-sweeper": {
        "task": "webhooks.outgoing.tasks.sweep_due_deliveries",
        "schedule": 1.0,
        "options": {"expire_seconds": 2},
    },
    "webhook-logs-retention": {
        "task": "webhooks.outgoing.tasks.cleanup_webhook_logs",
        "schedule": 3600.0,
        "options": {"expire_seconds": 600},
    },
}
