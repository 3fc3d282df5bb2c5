"""Provincial reports: parameterised notebooks rendered by papermill into self-contained HTML.

`render(parameters, out_dir)` executes the packaged report notebook and converts it;
`vaxstudy.Study.report` runs the estimate before it and lays out the run's folders. Modules:
sections (what the report shows), data (aggregates from the run), figures,
tables, suppress (small cells), i18n (vi/en), manifest, privacy, batch.
"""

from vaxstudy.report.render import RenderError, RenderResult, render

__all__ = ["RenderError", "RenderResult", "render"]
