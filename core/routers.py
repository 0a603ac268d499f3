from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Seed paths without a trailing slash (C4); the slashed variant works too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"
