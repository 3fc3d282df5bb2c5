"""Execute a parameterised notebook with papermill and convert it to HTML.

The HTML is self-contained: code cells and prompts are hidden
(`exclude_input=True`), figures are embedded as data URIs, and the external
scripts nbconvert's template links (require.js, MathJax from a CDN) are
dropped, since the report holds no widgets or LaTeX and must open offline.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from vaxstudy.config import NOTEBOOKS_DIR

DEFAULT_KERNEL = "python3"  # jupyter_client maps it to the running interpreter
DEFAULT_TIMEOUT = 900  # seconds per cell
REPORT_NOTEBOOK = NOTEBOOKS_DIR / "report.ipynb"

_EXTERNAL_SCRIPT = re.compile(
    r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>\s*", re.IGNORECASE
)
_MATHJAX_CONFIG = re.compile(
    r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->\s*", re.DOTALL
)


class RenderError(RuntimeError):
    """A notebook cell failed; says which one and why."""

    def __init__(self, message: str, *, cell_index: int | None = None,
                 ename: str | None = None, evalue: str | None = None) -> None:
        super().__init__(message)
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue


@dataclass(frozen=True)
class RenderResult:
    ipynb: Path
    html: Path
    seconds: float


def execute(notebook: str | Path, output: str | Path, parameters: Mapping[str, Any], *,
            cwd: str | Path | None = None, kernel_name: str | None = None,
            execution_timeout: int | None = DEFAULT_TIMEOUT) -> Path:
    """papermill.execute_notebook; a failing cell becomes a RenderError naming it."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output = Path(output)
    try:
        pm.execute_notebook(
            str(notebook),
            str(output),
            parameters=dict(parameters),
            cwd=str(cwd) if cwd is not None else str(output.parent),
            kernel_name=kernel_name or DEFAULT_KERNEL,
            execution_timeout=execution_timeout,
            progress_bar=False,
            log_output=False,
            report_mode=False,
        )
    except PapermillExecutionError as e:
        first_line = (e.source or "").strip().splitlines()[:1]
        where = f"notebook {Path(notebook).name}, cell {e.cell_index}"
        if first_line:
            where += f" ({first_line[0][:80]})"
        raise RenderError(f"{where} failed: {e.ename}: {e.evalue}", cell_index=e.cell_index,
                          ename=e.ename, evalue=e.evalue) from None
    return output


def to_html(ipynb: str | Path, html: str | Path, *, title: str | None = None) -> Path:
    """Self-contained HTML with the code hidden."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(ipynb), as_version=4)
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": title or Path(ipynb).stem}}
    )
    body = _MATHJAX_CONFIG.sub("", body)
    body = _EXTERNAL_SCRIPT.sub("", body)
    html = Path(html)
    html.write_text(body, encoding="utf-8")
    return html


def render(parameters: Mapping[str, Any], out_dir: str | Path, *,
           notebook: str | Path = REPORT_NOTEBOOK, name: str = "report",
           title: str | None = None, kernel_name: str | None = None,
           execution_timeout: int | None = DEFAULT_TIMEOUT,
           cwd: str | Path | None = None) -> RenderResult:
    """Run `notebook` with `parameters` in `out_dir` (the working directory of the
    kernel unless `cwd` says otherwise), writing `<name>.ipynb` and `<name>.html`."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb = execute(notebook, out_dir / f"{name}.ipynb", parameters,
                    cwd=cwd if cwd is not None else out_dir, kernel_name=kernel_name,
                    execution_timeout=execution_timeout)
    html = to_html(ipynb, out_dir / f"{name}.html", title=title)
    return RenderResult(ipynb=ipynb, html=html, seconds=time.perf_counter() - t0)
