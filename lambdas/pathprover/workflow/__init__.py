"""The workflow's logic: input validation and planning, lanes, the per-prove task glue and the summary."""
