"""An adapter under test, called as the sync engine calls it (the provider-adapter tests'
shared shell; each test module says how one call is made and which container is the default)."""

from __future__ import annotations

from typing import Any


class AdapterCalls:
    """``self("list_changes", container=..., cursor=...)`` calls one adapter method (the
    subclass's ``__call__``); ``listing`` reads every page from a cursor."""

    container: str = "primary"

    def __call__(self, method: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def listing(self, container: str | None = None, cursor: str | None = None) -> tuple[list, str | None, int]:
        """Every page from ``cursor``: (changes, final cursor, pages)."""
        changes, pages = [], 0
        while True:
            page = self("list_changes", container=container or self.container, cursor=cursor)
            changes += page.changes
            cursor, pages = page.cursor, pages + 1
            if page.done:
                return changes, cursor, pages
