"""``python -m crawler`` runs the ``misinfo`` command line."""

from crawler.cli import main

main()
