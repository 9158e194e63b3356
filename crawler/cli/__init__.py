"""The ``misinfo`` command line (``misinfo = crawler.cli:main``)."""

from crawler.cli.main import main

__all__ = ["main"]
