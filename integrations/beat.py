"""Beat entries of the integrations app (pure data: imported by settings)."""

SCHEDULE: dict = {}
