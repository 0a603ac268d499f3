"""The sync engine (issue 11, DESIGN C12), one concern per module: ``mapping`` and ``custom``
(field mappings, transforms, filters), ``preview`` (what a sample record becomes), ``plan``
(what an integration's settings ask to sync), ``runs`` (a run's log row, progress, events,
the sweeper), ``importer`` (remote pages -> local records), ``exporter`` (the export queue ->
the provider), ``queue`` (that queue's rows), ``merge`` (the three-way merge) and ``services``
(the flows tasks and views call)."""
