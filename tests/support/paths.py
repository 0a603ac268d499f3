"""Where the checkout is, for tests that run its tools or read its files (wherever the
test module sits under tests/)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
