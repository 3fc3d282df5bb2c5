"""Execute a parameterised notebook with papermill and convert it to HTML.

The notebook runs on the Python that runs vaxstudy, whatever Jupyter kernels
are registered: by default papermill is given a kernel manager whose only
spec, built on the fly, starts ``sys.executable -m ipykernel_launcher`` (a
registered ``python3`` may belong to another environment). A kernel named by
the caller must be registered; otherwise the error lists those that are.

The HTML is self-contained: code cells and prompts are hidden
(`exclude_input=True`), figures are embedded as data URIs, and the external
scripts nbconvert's template links (require.js, MathJax from a CDN) are
dropped, since the report holds no widgets or LaTeX and must open offline.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from vaxstudy.report.notebooks import REPORT, notebook_file

THIS_PYTHON = "vaxstudy-this-python"  # the kernel of sys.executable, never registered on disk
DEFAULT_KERNEL = None  # None: THIS_PYTHON
DEFAULT_TIMEOUT = 900  # seconds per cell
REPORT_NOTEBOOK = None  # None: the packaged report.ipynb (vaxstudy.report.notebooks)

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


def _this_python_manager():
    """An AsyncKernelManager class whose spec for THIS_PYTHON runs the current interpreter."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPythonSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            if kernel_name == THIS_PYTHON:
                # The kernel listens on 127.0.0.1 with signed messages; its warning that TCP is
                # unencrypted only alarms report users, so it logs errors alone. (IPC transport
                # would silence it too, but a suite worker hung in zmq's Context.term with it.)
                return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                                        "--IPKernelApp.log_level=ERROR"],
                                  display_name=f"Python {sys.version.split()[0]} ({sys.prefix})", language="python")
            return super().get_kernel_spec(kernel_name)

    class ThisPythonKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _this_python_specs(self) -> KernelSpecManager:
            return ThisPythonSpecs(data_dir=self.data_dir)

    return ThisPythonKernelManager


def kernel_options(kernel_name: str | None = None) -> dict[str, Any]:
    """papermill arguments selecting the kernel: ``kernel_name`` if registered, else (None) this Python.

    Raises RenderError saying what to do when no kernel fits.
    """
    if kernel_name in (None, THIS_PYTHON):
        if importlib.util.find_spec("ipykernel") is None:
            raise RenderError(f"cannot run notebooks: the Python running vaxstudy ({sys.executable}) has no "
                              "ipykernel; install it there (pip install ipykernel) or reinstall vaxstudy")
        return {"kernel_name": THIS_PYTHON, "kernel_manager_class": _this_python_manager()}
    from jupyter_client.kernelspec import KernelSpecManager

    known = sorted(KernelSpecManager().find_kernel_specs())
    if kernel_name not in known:
        raise RenderError(f"no Jupyter kernel named {kernel_name!r} (registered: {', '.join(known) or 'none'}); "
                          "leave the kernel unset to run on the Python that runs vaxstudy")
    return {"kernel_name": kernel_name}


# what the report's first cell imports: a kernel started ahead (start_kernel) imports it
# before the notebook runs, silently (no execution count, no output)
WARM_UP = "import vaxstudy.report.sections, vaxstudy.study"


def start_kernel(cwd: str | Path, kernel_name: str | None = DEFAULT_KERNEL, warm_up: str = WARM_UP) -> Any:
    """A kernel of this Python started in ``cwd`` with ``warm_up`` run in it, for the next
    :func:`execute` (``km=``) to use: the kernel's start and the report's imports (~3-4 s)
    then happen while the caller does other work (the estimate). None for a named kernel,
    or when the kernel does not start (the render then starts its own, as always)."""
    import asyncio

    if kernel_name not in (None, THIS_PYTHON):
        return None
    km = None
    try:
        from jupyter_client import BlockingKernelClient

        km = kernel_options(kernel_name)["kernel_manager_class"](kernel_name=THIS_PYTHON)
        asyncio.run(km.start_kernel(cwd=str(cwd)))
        kc = BlockingKernelClient()
        kc.load_connection_info(km.get_connection_info())
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            reply = kc.execute_interactive(warm_up, silent=True, store_history=False, timeout=120)
        finally:
            kc.stop_channels()
        if reply["content"]["status"] != "ok":
            raise RuntimeError(reply["content"].get("evalue"))
        return km
    except Exception:  # noqa: BLE001 - a warm start is only a saving; the render starts its own
        stop_kernel(km)
        return None


def stop_kernel(km: Any) -> None:
    """Shut down a kernel :func:`start_kernel` started (None: nothing)."""
    import asyncio

    if km is not None and km.has_kernel:
        asyncio.run(km.shutdown_kernel(now=True))


def execute(notebook: str | Path | None, output: str | Path, parameters: Mapping[str, Any], *,
            cwd: str | Path | None = None, kernel_name: str | None = DEFAULT_KERNEL,
            execution_timeout: int | None = DEFAULT_TIMEOUT, km: Any = None) -> Path:
    """papermill.execute_notebook (``notebook`` None: the packaged report); a failing cell
    becomes a RenderError naming it. ``km``: a kernel :func:`start_kernel` started, used and
    then shut down."""
    from vaxstudy.fastimport import jsonschema

    jsonschema()  # before nbformat imports it with its slow optional checker
    import papermill as pm
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    output = Path(output)
    kernel = kernel_options(kernel_name)
    if km is not None:
        kernel = {"kernel_name": THIS_PYTHON, "km": km}
    with contextlib.ExitStack() as stack:
        stack.callback(stop_kernel, km)
        if notebook is None:
            notebook = stack.enter_context(notebook_file(REPORT))
        try:
            pm.execute_notebook(
                str(notebook),
                str(output),
                parameters=dict(parameters),
                cwd=str(cwd) if cwd is not None else str(output.parent),
                execution_timeout=execution_timeout,
                progress_bar=False,
                log_output=False,
                report_mode=False,
                **kernel,
            )
        except PapermillExecutionError as e:
            first_line = (e.source or "").strip().splitlines()[:1]
            where = f"notebook {Path(notebook).name}, cell {e.cell_index}"
            if first_line:
                where += f" ({first_line[0][:80]})"
            raise RenderError(f"{where} failed: {e.ename}: {e.evalue}", cell_index=e.cell_index,
                              ename=e.ename, evalue=e.evalue) from None
        except (OSError, DeadKernelError) as e:  # the kernel could not start or died
            raise RenderError(f"notebook {Path(notebook).name}: the Jupyter kernel {kernel['kernel_name']!r} did not "
                              f"run ({type(e).__name__}: {e}); leave the kernel unset to run on the Python that "
                              "runs vaxstudy") from e
    return output


_HTML_LANG = re.compile(r"<html([^>]*?)\slang=\"[^\"]*\"", re.IGNORECASE)


def set_lang(body: str, language: str) -> str:
    """`<html lang="…">` of the report's language (nbconvert's template says "en" whatever the text)."""
    if _HTML_LANG.search(body):
        return _HTML_LANG.sub(lambda m: f'<html{m.group(1)} lang="{language}"', body, count=1)
    return re.sub(r"<html(?=[\s>])", f'<html lang="{language}"', body, count=1, flags=re.IGNORECASE)


def to_html(ipynb: str | Path, html: str | Path, *, title: str | None = None,
            language: str | None = None) -> Path:
    """Self-contained HTML with the code hidden, `lang` set to the report's language."""
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
    if language:
        body = set_lang(body, language)
    html = Path(html)
    html.write_text(body, encoding="utf-8")
    return html


def render(parameters: Mapping[str, Any], out_dir: str | Path, *,
           notebook: str | Path | None = REPORT_NOTEBOOK, name: str = "report",
           title: str | None = None, kernel_name: str | None = DEFAULT_KERNEL,
           execution_timeout: int | None = DEFAULT_TIMEOUT,
           cwd: str | Path | None = None, km: Any = None) -> RenderResult:
    """Run `notebook` (default: the packaged report) with `parameters` in `out_dir` (the working
    directory of the kernel unless `cwd` says otherwise), writing `<name>.ipynb` and `<name>.html`.
    `km`: a kernel :func:`start_kernel` started in that directory."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb = execute(notebook, out_dir / f"{name}.ipynb", parameters,
                    cwd=cwd if cwd is not None else out_dir, kernel_name=kernel_name,
                    execution_timeout=execution_timeout, km=km)
    html = to_html(ipynb, out_dir / f"{name}.html", title=title, language=parameters.get("language"))
    return RenderResult(ipynb=ipynb, html=html, seconds=time.perf_counter() - t0)
