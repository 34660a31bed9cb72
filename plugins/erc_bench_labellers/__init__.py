"""Built-in erc-bench plugin package: labellers."""
