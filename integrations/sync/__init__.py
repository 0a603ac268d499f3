"""The sync engine (issue 11, DESIGN C12): field mapping, transforms and filters (``mapping``,
``custom``), runs, import, export and merge. Each module is one concern; see their docstrings."""
