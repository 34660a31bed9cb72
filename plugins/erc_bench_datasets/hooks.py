"""Registers the built-in model components (filled in by the models work)."""
