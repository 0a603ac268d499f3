"""Beat entries of the incoming side (pure data: imported by settings).

Each entry expires before its next run so a backlog never piles up
(``expire_seconds``: django-celery-beat's DatabaseScheduler keeps it and drops
``expires``). The pending sweeper runs every 10 s, so requests stored while
the broker was down are processed soon after it returns. (Forward attempts
are deliveries of the outgoing engine: its 1 s sweeper retries them.)
"""

SCHEDULE: dict = {
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
