"""Third-party modules imported without optional parts vaxstudy never uses, where those
parts cost seconds of start-up per process.

jsonschema imports ``rfc3987_syntax`` when it is installed (Jupyter's dependencies bring it),
only to check the ``iri`` and ``iri-reference`` formats; that package builds a Lark grammar
at import: 2–4 s on the project's 2-core machine, paid once per ``vaxstudy report`` (metrics
validation, then papermill's nbformat). No schema vaxstudy validates, nor nbformat's, checks
those formats.
"""

from __future__ import annotations

import sys
from types import ModuleType


def jsonschema() -> ModuleType:
    """The jsonschema module; the first import in the process leaves the IRI checker out."""
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import fails: checker skipped
        try:
            import jsonschema as js
        finally:
            del sys.modules["rfc3987_syntax"]
        return js
    import jsonschema as js

    return js
