"""Running the audit: the `salesaudit` command, the papermill runner, batches of periods, recorded key results."""
