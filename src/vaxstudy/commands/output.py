"""What the commands print: failures and warnings on stderr, with markup escaped.

Messages carry file names, user values and hints such as ``pip install 'vaxstudy[spark]'``;
rich would read ``[spark]`` as a style tag and drop it, so every message is escaped here,
and long lines are not wrapped (a path stays copyable).
"""

from __future__ import annotations

from typing import NoReturn

import typer


def _console(stderr: bool = True):
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True, highlight=False)


def number(value: object, spec: str = ",") -> str:
    """``value`` formatted with ``spec``; "n/a" for None or NaN (an aggregate over no rows)."""
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return format(value, spec)


def fail(what: str, message: object, code: int = 1) -> NoReturn:
    """Print '<what> failed: <message>' on stderr and exit with ``code`` (no traceback)."""
    from rich.markup import escape

    _console().print(f"[bold red]{escape(what)} failed:[/] {escape(str(message))}")
    raise typer.Exit(code=code)


def warn(message: object) -> None:
    """Print 'warning: <message>' on stderr."""
    from rich.markup import escape

    _console().print(f"[yellow]warning:[/] {escape(str(message))}")


def say(message: object) -> None:
    """Print a plain message on stdout, markup escaped."""
    from rich.markup import escape

    _console(stderr=False).print(escape(str(message)))
