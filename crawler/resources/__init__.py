"""Configuration files -> objects: sources, analysis resources, claims, the store."""
