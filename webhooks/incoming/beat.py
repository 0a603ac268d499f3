"""Beat entries of the incoming side (pure data: imported by settings).

Each entry expires before its next run so a backlog never piles up. Forward
retries run every 5 s so a due retry fires within 5 s of its time (C8).
"""

SCHEDULE: dict = {
    "incoming-forward-retries": {
        "task": "webhooks.incoming.tasks.retry_due_forwards",
        "schedule": 5.0,
        "options": {"expires": 4},
    },
    "incoming-pending-sweeper": {
        "task": "webhooks.incoming.tasks.redispatch_pending_incoming",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "incoming-cleanup": {
        "task": "webhooks.incoming.tasks.cleanup_incoming",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
}
