"""Models and migrations agree, and `makemigrations` runs as the owner (it reads the
migration history, which the runtime role may not)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import ROOT


def test_makemigrations_finds_nothing_to_do():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=ROOT,
                          env={**env, "DJANGO_SETTINGS_MODULE": "architect_studio.settings.dev"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes detected" in done.stdout
