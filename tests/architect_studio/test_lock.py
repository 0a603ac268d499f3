"""Installs are reproducible only if the lock files name every dependency pyproject asks for."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.support.paths import ROOT


def _names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", r).group(0)).lower() for r in requirements}


def _pinned(lock: str) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (ROOT / lock).read_text(), re.M)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins}


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))])
def test_every_dependency_is_pinned_with_hashes(lock, extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"]) | _names([r for e in extras for r in project["optional-dependencies"][e]])
    pinned = _pinned(lock)
    assert wanted - set(pinned) == set(), f"run `make lock`: {lock} misses {sorted(wanted - set(pinned))}"
    lines = (ROOT / lock).read_text().splitlines()
    pins = [i for i, line in enumerate(lines) if re.match(r"[A-Za-z0-9._-]+==", line)]
    assert pins and all(lines[i + 1].strip().startswith("--hash=sha256:") for i in pins), "every pin has its hashes"
