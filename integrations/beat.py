"""Beat entries of the integrations app (pure data: imported by settings).

Each entry expires before its next run, so a backlog never piles up."""

SCHEDULE: dict = {
    "integrations-token-expiry-scan": {
        "task": "integrations.tasks.scan_expiring_tokens",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    "integrations-oauth-state-cleanup": {
        "task": "integrations.tasks.cleanup_oauth_states",
        "schedule": 900.0,
        "options": {"expire_seconds": 850},
    },
    "integrations-log-retention": {
        "task": "integrations.tasks.cleanup_integration_logs",
        "schedule": 3600.0,
        "options": {"expire_seconds": 3500},
    },
    # Sync (issue 11): one fan-out for every hourly/daily integration, and the stale-run sweeper.
    "integrations-sync-schedule": {
        "task": "integrations.tasks.schedule_syncs",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    "integrations-sync-run-sweeper": {
        "task": "integrations.tasks.sweep_sync_runs",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    # Realtime import (issue 11 item 8): push channel renewals / reconciliation / coalesced
    # re-runs, and the 5-minute poll of realtime integrations without push (CalDAV).
    "integrations-push-channels": {
        "task": "integrations.tasks.maintain_push_channels",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    "integrations-realtime-poll": {
        "task": "integrations.tasks.poll_realtime_syncs",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    # Messaging (issue 16): reminders that came due (rules write them ahead of time).
    "integrations-messaging-due": {
        "task": "integrations.tasks.messaging_sweep",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
}
