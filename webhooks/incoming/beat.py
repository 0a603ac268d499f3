"""Beat entries of the incoming side (pure data: imported by settings)."""

SCHEDULE: dict = {}
