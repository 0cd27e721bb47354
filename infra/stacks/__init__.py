"""Stacks of the app: one per deployable unit."""
