"""The import contracts in pyproject.toml ([tool.importlinter]) hold: apps on floors
(core below tenancy below entities below webhooks below integrations), services and
selectors never import tasks (they wake them by name through core.kick), and no import
cycles inside an app. Runs import-linter as `make test` runs every other test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
