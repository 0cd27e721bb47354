"""The prove lifecycle (start and check per stage) and what it passes around: jobs, specs, names."""
