"""The import contracts in pyproject.toml ([tool.importlinter]) hold: apps on floors
(core below tenancy below entities below integrations below webhooks), services and
selectors never import tasks (they wake them by name through core.kick), and no import
cycles inside an app. Runs import-linter as `make test` runs every other test.

The floors are also checked against small stand-in packages: the real contract text,
read from pyproject.toml, must reject an integrations module importing webhooks (the
provider client's hardened HTTP is core.outbound now) and core importing any app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

APPS = ("core", "tenancy", "entities", "integrations", "webhooks")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_are_kept():
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _layers_contract_on(tmp_path: Path, importer: str, imported: str) -> subprocess.CompletedProcess:
    """Run the project's `layers` contract over stand-in apps where only ``importer`` imports ``imported``."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    for app in APPS:
        (tmp_path / app).mkdir()
        (tmp_path / app / "__init__.py").write_text("")
        (tmp_path / app / "outbound.py").write_text("")
    (tmp_path / importer.replace(".", "/")).with_suffix(".py").write_text(f"import {imported}\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--contract", "layers", "pyproject.toml"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("integrations.client", "webhooks.outbound"),  # the import issue 12 item 7 removed
        ("core.schema", "tenancy.outbound"),
        ("core.kick", "webhooks.outbound"),
        ("entities.events", "integrations.outbound"),
    ],
)
def test_the_floors_refuse_an_import_from_below(tmp_path, importer, imported):
    result = _layers_contract_on(tmp_path, importer, imported)
    assert result.returncode != 0, result.stdout + result.stderr
    assert f"{importer} -> {imported}" in result.stdout, result.stdout + result.stderr


def test_webhooks_may_read_integrations(tmp_path):
    result = _layers_contract_on(tmp_path, "webhooks.apps", "integrations.outbound")
    assert result.returncode == 0, result.stdout + result.stderr



def test_start_refuses_a_catalog_scheme_without_a_verifier():
    """integrations names the schemes, webhooks holds the verifiers: the start checks them."""
    from dataclasses import replace

    from integrations.providers.catalog import PROVIDERS
    from webhooks.apps import check_verifiers, unknown_schemes

    check_verifiers()
    assert unknown_schemes(PROVIDERS.values()) == []
    typo = replace(PROVIDERS["stripe"], webhook_scheme="carrier_pigeon")
    assert unknown_schemes([*PROVIDERS.values(), typo]) == ["carrier_pigeon"]
