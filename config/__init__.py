"""Bundled configuration files (sources, settings, lexicons, known claims, press register).

A user's config directory overrides these file by file; see :mod:`crawler.app`.
"""

from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parent

__all__ = ["BUNDLED_DIR"]
