"""`vaxstudy notebooks`: list the notebooks vaxstudy ships, or copy them out for JupyterLab."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def notebooks(
    copy: Optional[Path] = typer.Option(None, "--copy", help="Folder to copy the analyst notebooks into."),
    root: Optional[Path] = typer.Option(
        None, "--root", help="Folder where `vaxstudy demo` wrote data/ and reports/ (default: the current folder); "
        "the copies' default parameters point there."),
    force: bool = typer.Option(False, "--force", help="Overwrite notebooks already in the folder."),
) -> None:
    """List the packaged notebooks; with --copy DIR, write them into DIR with working defaults."""
    from vaxstudy.report.notebooks import copy_notebooks, notebook_file, notebook_names

    if copy is None:
        with notebook_file() as report:
            typer.echo(f"packaged notebooks in {report.parent}:")
        for name in notebook_names():
            typer.echo(f"  {name}")
        typer.echo("copy them for JupyterLab with: vaxstudy notebooks --copy DIR")
        return
    try:
        written = copy_notebooks(copy, root, force=force)
    except FileExistsError as e:
        raise typer.BadParameter(str(e), param_hint="--copy") from None
    for path in written:
        typer.echo(str(path))
    typer.echo(f"open them with: jupyter lab {copy}  (from this environment, so the python3 kernel has vaxstudy)",
               err=True)
