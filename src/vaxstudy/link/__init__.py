"""Linkage stage: vaccination rows to register persons (Splink 5 over DuckDB).

Public API: :func:`link_db` and :class:`LinkResult` (imported on first use, so reading the
link run, :func:`vaxstudy.link.run.read_link_run`, does not load Splink). See docs/linkage.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LinkResult", "link_db"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vaxstudy.link import core

        return getattr(core, name)
    raise AttributeError(f"module 'vaxstudy.link' has no attribute {name!r}")
