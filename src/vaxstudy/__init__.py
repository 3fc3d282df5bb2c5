"""vaxstudy: audit COVID-19 vaccination registries against the population register.

The public API a notebook uses::

    from vaxstudy import Study, LinkOptions, EstimateOptions, ReportParams
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Study": "vaxstudy.study",
    "RunResult": "vaxstudy.study",
    "StageError": "vaxstudy.progress",
    "LinkOptions": "vaxstudy.options",
    "EstimateOptions": "vaxstudy.options",
    "ReportParams": "vaxstudy.options",
    "BatchConfig": "vaxstudy.options",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:  # imported on first use: `vaxstudy --help` stays quick
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vaxstudy' has no attribute {name!r}")
