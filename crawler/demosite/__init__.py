"""Realistic local Vietnamese news sites and a JS social feed for the demo and the tests.

Real sites are out of reach here, so ``misinfo demo`` and the end-to-end tests crawl these,
served on 127.0.0.1 and told apart by Host header (``songhong.localhost`` ...).
"""

from crawler.demosite.model import Article, Section, SiteDef, SocialPost
from crawler.demosite.server import CONTENT_DIR, DemoServer

__all__ = ["CONTENT_DIR", "Article", "DemoServer", "Section", "SiteDef", "SocialPost"]
