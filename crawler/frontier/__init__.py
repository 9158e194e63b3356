"""The crawl frontier: local (in the process) or shared on Redis."""
