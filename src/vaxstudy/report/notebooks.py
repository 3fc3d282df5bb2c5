"""The notebooks vaxstudy ships: found as package data, and copied out for analysts.

The commands execute the notebooks of the installed package
(``vaxstudy/notebooks/*.ipynb``, found with ``importlib.resources``), so they
work from a wheel as from a checkout. The repository's top-level ``notebooks/``
holds the same files for JupyterLab (``make notebooks`` copies them into the
package; a test fails when the two differ). ``copy_notebooks`` writes the
analyst notebooks into a folder of the user's choice, their default
parameters rewritten to point at the demo's files from there.
"""

from __future__ import annotations

import ast
import contextlib
import os
from importlib import resources
from pathlib import Path
from typing import Iterator

import nbformat

PACKAGE = "vaxstudy"
FOLDER = "notebooks"
REPORT = "report.ipynb"
#: kernel named in copied notebooks: the one a JupyterLab of the same environment offers
COPY_KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def notebook_names() -> tuple[str, ...]:
    """The names of the packaged notebooks (report.ipynb and the analysts')."""
    folder = resources.files(PACKAGE).joinpath(FOLDER)
    return tuple(sorted(p.name for p in folder.iterdir() if p.name.endswith(".ipynb"))) if folder.is_dir() else ()


def packaged(name: str = REPORT) -> resources.abc.Traversable:
    """The packaged notebook ``name`` (a Traversable; use ``notebook_file`` for a path)."""
    if name != REPORT and name not in notebook_names():
        raise ValueError(f"no packaged notebook {name!r}; there are {', '.join(notebook_names())}")
    nb = resources.files(PACKAGE).joinpath(FOLDER, name)
    if not nb.is_file():
        raise FileNotFoundError(f"the vaxstudy package has no {FOLDER}/{name}: the installation is incomplete "
                                "(reinstall vaxstudy; from a checkout run `make notebooks`)")
    return nb


@contextlib.contextmanager
def notebook_file(name: str = REPORT) -> Iterator[Path]:
    """A file-system path of the packaged notebook for the duration of the block."""
    with resources.as_file(packaged(name)) as path:
        yield Path(path)


def _demo_defaults(source: str, dest: Path, root: Path) -> str:
    """The parameters cell with every '../X' default (relative to the repository's notebooks/)
    rewritten to reach ``root``/X from ``dest``."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    changed = False
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str) and node.value.value.startswith("../")):
            continue
        new = Path(os.path.relpath(Path(root) / node.value.value[3:], dest)).as_posix()
        v = node.value
        line = lines[v.lineno - 1].encode("utf-8")  # ast offsets count UTF-8 bytes
        lines[v.lineno - 1] = (line[:v.col_offset] + f'"{new}"'.encode("utf-8")
                               + line[v.end_col_offset:]).decode("utf-8")
        changed = True
    head = (f"# Copied by `vaxstudy notebooks --copy`: the paths below reach the demo that `vaxstudy demo`\n"
            f"# makes in {Path(root).as_posix()}; set them to your own run's folders.\n") if changed else ""
    return head + "".join(lines)


def copy_notebooks(dest, root=None, *, force: bool = False, kernel: dict | None = None) -> list[Path]:
    """Write the analyst notebooks into ``dest``; their defaults open the demo province made in
    ``root`` (default: the current folder, where ``vaxstudy demo`` writes data/ and reports/).

    Existing files are kept unless ``force``; raises FileExistsError naming them.
    """
    dest = Path(dest).resolve()
    root = Path(root or Path.cwd()).resolve()
    names = notebook_names()
    clash = [dest / n for n in names if (dest / n).exists()]
    if clash and not force:
        raise FileExistsError(f"{', '.join(str(p) for p in clash)} already exist(s); pass --force to overwrite")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        nb = nbformat.reads(packaged(name).read_text(encoding="utf-8"), as_version=4)
        for cell in nb.cells:
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = _demo_defaults(cell.source, dest, root)
        nb.metadata["kernelspec"] = dict(kernel or COPY_KERNEL)
        out = dest / name
        nbformat.write(nb, str(out))
        written.append(out)
    return written
