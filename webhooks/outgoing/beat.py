"""Beat entries of the outgoing side (pure data: imported by settings)."""

SCHEDULE: dict = {}
