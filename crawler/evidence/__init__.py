"""Evidence that survives deletion: WARC records of stored pages, browser captures, takedown
checks and WACZ bundles (see the README's Evidence section)."""
