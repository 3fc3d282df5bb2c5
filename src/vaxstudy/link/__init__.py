"""Linkage stage: vaccination rows to register persons (Splink 5 over DuckDB).

Public API: :func:`link_db` and :class:`LinkResult`. See docs/linkage.md.
"""

from vaxstudy.link.core import LinkResult, link_db

__all__ = ["LinkResult", "link_db"]
