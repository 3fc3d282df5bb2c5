"""Unit tests of the synthetic generator's text transformations and parameters."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from pydantic import ValidationError

from vaxstudy.synth import names as nm
from vaxstudy.synth.params import SynthParams


@pytest.mark.parametrize(
    "new, old",
    [("Nguyễn Thị Hoà", "Nguyễn Thị Hòa"), ("Trần Văn Thuỷ", "Trần Văn Thủy"), ("Lê Khoẻ", "Lê Khỏe"), ("thuý", "thúy")],
)
def test_toggle_tone_style_both_ways(new, old):
    assert nm.toggle_tone_style(new) == old
    assert nm.toggle_tone_style(old) == new
    assert nm.has_tone_style_syllable(new)


@pytest.mark.parametrize("s", ["Hoàng Văn Toàn", "Lê Quý", "Huy", "Nguyễn Thị Quỳnh", "Phạm Thuận"])
def test_toggle_tone_style_leaves_other_syllables(s):
    assert nm.toggle_tone_style(s) == s
    assert not nm.has_tone_style_syllable(s)


def test_strip_diacritics_and_swap():
    assert nm.strip_diacritics("Đặng Thị Hoà") == "Dang Thi Hoa"
    assert nm.strip_diacritics(unicodedata.normalize("NFD", "Nguyễn")) == "Nguyen"
    assert nm.swap_parts("Nguyễn Thị Hoà") == "Hoà Nguyễn Thị"


def _dist(a: str, b: str) -> int:
    """Optimal string alignment distance (edits incl. adjacent transposition)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            c = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + c)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_typo_is_one_edit():
    rng = np.random.default_rng(0)
    for s in ["Nguyễn Văn An", "Lê Thị Hoà", "Phạm Minh Tuấn"] * 30:
        t = nm.typo(s, rng)
        assert t != s
        # one edit; deleting a letter next to a space may also collapse the space
        assert _dist(s, t) <= 2


def test_surname_table_shares():
    names, p = nm.surname_table()
    share = dict(zip(names, p))
    assert abs(share["Nguyễn"] - 0.38) < 1e-9
    assert abs(share["Trần"] - 0.11) < 1e-9
    assert len(names) >= 60 and abs(p.sum() - 1) < 1e-12
    assert len(nm.MALE_GIVEN) >= 150 and len(nm.FEMALE_GIVEN) >= 150


def test_params_frozen_and_strict():
    p = SynthParams()
    with pytest.raises(ValidationError):
        SynthParams(no_such_rate=0.1)
    with pytest.raises(ValidationError):
        SynthParams(id_empty=1.5)
    with pytest.raises(ValidationError):
        p.id_empty = 0.2  # frozen
    for name, f in SynthParams.model_fields.items():
        assert f.description, name
