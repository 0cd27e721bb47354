"""Pure domain model: dimensions, config vectors, run configs, the table schema and records."""
