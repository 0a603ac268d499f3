"""The sync engine (issue 11, DESIGN C12): runs, import, export, merge, mapping.

One module per concern: ``runs`` (a run's log row, progress, events, the sweeper),
``plan`` (what an integration's settings ask to sync), ``importer`` (remote pages ->
local records), ``exporter`` (the export queue -> the provider), ``merge`` (the
three-way merge), ``mapping`` (field mappings and filters) and ``services`` (the
flows tasks and views call).
"""
