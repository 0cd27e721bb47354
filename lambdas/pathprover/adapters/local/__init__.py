"""Local adapters: DuckDB over Parquet, simulated builder and fleet on a virtual clock."""
