"""Per-stage progress of a study (a rich live display, or nothing) and the error naming the
stage that failed."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator


class StageError(RuntimeError):
    """A stage failed; ``stage`` names it and the message says why."""

    def __init__(self, stage: str, cause: BaseException | str) -> None:
        self.stage = stage
        self.cause = cause
        why = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else str(cause)
        super().__init__(f"stage '{stage}' failed: {why}")


class Progress:
    """Per-stage progress: a rich live display on stderr, or nothing (``enabled=False``)."""

    def __init__(self, enabled: bool = True, title: str = "",
                 on_note: Callable[[str, str], None] | None = None) -> None:
        self.enabled = enabled
        self.title = title
        self.on_note = on_note  # also called with (stage, message), e.g. by a command's status line
        self._progress = None

    def __enter__(self) -> "Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = RichProgress(SpinnerColumn(), TextColumn("{task.description}"),
                                          TimeElapsedColumn(), console=Console(stderr=True),
                                          transient=False)
            self._progress.__enter__()
            if self.title:
                self._progress.console.print(self.title, highlight=False, markup=False)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    @contextlib.contextmanager
    def stage(self, name: str, timings: dict[str, float]) -> Iterator[Callable[[str], None]]:
        """Run a stage: its time into ``timings[name]``; any error re-raised as StageError."""
        t0 = time.perf_counter()
        task: Any = None
        if self._progress is not None:
            task = self._progress.add_task(f"{name} …", total=1)

        def note(msg: str) -> None:
            if self.on_note is not None:
                self.on_note(name, msg)
            if task is not None:
                self._progress.update(task, description=f"{name} … {msg}")

        try:
            yield note
        except StageError:
            raise
        except Exception as e:  # re-raised with the stage named (KeyboardInterrupt passes through)
            if task is not None:
                self._progress.update(task, description=f"[red]{name} failed[/red]")
            raise StageError(name, e) from e
        finally:
            timings[name] = time.perf_counter() - t0
        if task is not None:
            self._progress.update(task, completed=1, description=f"[green]{name}[/green] ({timings[name]:.1f} s)")
