"""Lifecycle stages and the ports they use (Builder, Fleet, ArtifactStore)."""
