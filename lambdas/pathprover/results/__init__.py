"""What the tables say to people: the headline metrics of each attempt, one config's history
(`pathprover show`) and the cheapest proven configuration that meets a set of SLOs
(`pathprover recommend`). Pure functions over rows; the reads are Athena SQL, so they run on Athena
and on the local DuckDB warehouse alike."""
