"""jsonschema imported without its IRI checker (seconds of start-up) still validates."""

from __future__ import annotations

import subprocess
import sys


def test_jsonschema_without_the_iri_grammar_still_validates():
    code = """
import sys
from vaxstudy.fastimport import jsonschema
js = jsonschema()
assert "rfc3987_syntax" not in sys.modules, "the grammar was built"
import nbformat  # reuses the same module
assert sys.modules["jsonschema"] is js
try:
    js.validate({"a": "x"}, {"type": "object", "properties": {"a": {"type": "integer"}}})
except js.ValidationError:
    print("refused")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "refused"
