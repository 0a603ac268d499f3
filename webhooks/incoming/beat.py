"""Beat entries of the incoming side (pure data: imported by settings).

Each entry expires before its next run so a backlog never piles up
(``expire_seconds``: django-celery-beat's DatabaseScheduler keeps it and drops
``expires``). Forward retries run every 5 s so a due retry fires within 5 s of
its time (C8); the pending sweeper every 10 s, so requests stored while the
broker was down are processed soon after it returns.
"""

SCHEDULE: dict = {
    "incoming-forward-retries": {
        "task": "webhooks.incoming.tasks.retry_due_forwards",
        "schedule": 5.0,
        "options": {"expire_seconds": 4},
    },
    "incoming-pending-sweeper": {
        "task": "webhooks.incoming.tasks.redispatch_pending_incoming",
        "schedule": 10.0,
        "options": {"expire_seconds": 9},
    },
    "incoming-cleanup": {
        "task": "webhooks.incoming.tasks.cleanup_incoming",
        "schedule": 3600.0,
        "options": {"expire_seconds": 3000},
    },
}
