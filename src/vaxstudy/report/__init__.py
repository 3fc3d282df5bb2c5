"""Provincial reports: parameterised notebooks rendered by papermill into self-contained HTML.

`render(parameters, out_dir)` executes the packaged report notebook and converts it;
`vaxstudy.Study.report` runs the estimate before it and lays out the run's folders. Modules:
sections (what the report shows), aggregates (the tables it reads), data (their queries),
figures, tables, suppress (small cells), i18n (vi/en), manifest, privacy, batch.

`render`, `RenderError` and `RenderResult` are imported on first use: the notebook's kernel
imports the sections, not papermill and nbconvert (seconds of start-up per report).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RenderError", "RenderResult", "render"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("vaxstudy.report.render"), name)
    raise AttributeError(f"module 'vaxstudy.report' has no attribute {name!r}")
