"""Built-in erc-bench plugin package: datasets."""
