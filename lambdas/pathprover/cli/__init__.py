"""The `pathprover` command line."""
