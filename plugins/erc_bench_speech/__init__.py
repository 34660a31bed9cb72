"""Built-in erc-bench plugin package: speech."""
