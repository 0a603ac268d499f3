"""Outlook Calendar: its catalog entry, its adapter and its webhook scheme (one folder per provider; see ../README.md)."""

from .._microsoft_verification import SCHEME
from .adapter import OutlookCalendarAdapter as ADAPTER
from .entry import PROVIDER

__all__ = ["ADAPTER", "PROVIDER", "SCHEME"]
