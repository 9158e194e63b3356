"""The analyst web UI: search with facets and a timeline, posts with evidence, review queues,
site profiles and crawl status, behind a login.

Build it with :func:`create_app`; ``crawler/cli/web.py`` wires it to the data directory.
"""

from index.web.app import create_app
from index.web.users import ROLES, User, UserError, UserExists, UserStore

__all__ = ["ROLES", "User", "UserError", "UserExists", "UserStore", "create_app"]
