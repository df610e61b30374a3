"""dlt sources of the pipeline, one folder per source in dlt's verified-sources layout:
`quickbooks/` (`__init__.py` the source and its resources, `settings.py` its constants and
table hints, `helpers/` the paging, parsing and report planning). Running a source into the
warehouse is the sync package's (qb_pipeline/sync/)."""
