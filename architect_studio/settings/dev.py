"""Settings for `make run` and production alike; production sets the env vars."""

from architect_studio.settings.base import *  # noqa: F401,F403
