"""Mailchimp: its catalog entry and its adapter (one folder per provider; see ../README.md)."""

from .adapter import MailchimpAdapter as ADAPTER
from .entry import PROVIDER

__all__ = ["ADAPTER", "PROVIDER"]
