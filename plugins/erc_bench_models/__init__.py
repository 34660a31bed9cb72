"""Built-in erc-bench plugin package: models."""
