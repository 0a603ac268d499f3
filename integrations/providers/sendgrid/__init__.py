"""SendGrid: its catalog entry, its adapter and its webhook scheme (one folder per provider; see ../README.md)."""

from .adapter import SendgridAdapter as ADAPTER
from .entry import PROVIDER
from .verification import SCHEME

__all__ = ["ADAPTER", "PROVIDER", "SCHEME"]
