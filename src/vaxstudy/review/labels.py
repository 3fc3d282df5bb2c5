"""The review files' words: column headers and decision labels in Vietnamese and English.

Reading a returned file accepts a column under its machine name or either language's header,
and a decision as its machine value or either language's label (case, spaces and Unicode form
ignored), so a file filled in one language and scored in another still reads.
"""

from __future__ import annotations

import unicodedata

SHEET = "review"
DECISIONS = ("same", "different", "other", "unsure")
#: ``other`` (record → register person items only): not this person, but the row's person is
#: someone else in the register (the reviewer found them, or knows they live there)
DECISION_LABELS = {
    "vi": {"same": "Cùng một người", "different": "Khác người", "other": "Người khác trong CSDL",
           "unsure": "Không chắc chắn"},
    "en": {"same": "Same person", "different": "Different", "other": "Someone else in the register",
           "unsure": "Unsure"},
}
#: kinds whose items may be answered ``other``
OTHER_KINDS = ("link", "unlinked")
#: columns CONTRACT §2 requires, plus the run's fingerprint
MACHINE_COLUMNS = ("review_id", "kind", "record_id", "candidate_id", "stratum", "inclusion_prob",
                   "decision", "run_fingerprint")
DISPLAY_FIELDS = ("name", "dob", "sex", "id", "phone", "commune")

_FIELD = {
    "name": ("Họ tên", "Name"), "dob": ("Ngày sinh", "Date of birth"), "sex": ("Giới tính", "Sex"),
    "id": ("Số CCCD/CMND", "ID number"), "phone": ("Số điện thoại", "Phone"),
    "commune": ("Mã xã", "Commune"), "dose": ("Mũi tiêm của dòng", "This row's dose"),
    "doses": ("Các mũi của hồ sơ", "Doses of the profile"),
}
HEADERS: dict[str, dict[str, str]] = {
    "review_id": {"vi": "Mã mục", "en": "Item"},
    "question": {"vi": "Cần xác định", "en": "To decide"},
    "decision": {"vi": "Quyết định", "en": "Decision"},
    "note": {"vi": "Ghi chú", "en": "Note"},
    "other_person_id": {"vi": "Mã người đúng trong CSDL (nếu tìm được)",
                        "en": "The right register person's ID (if found)"},
    "other_candidates": {"vi": "Người khác có thể trùng (mã)", "en": "Other possible persons (ids)"},
    "kind": {"vi": "kind", "en": "kind"},
    "record_id": {"vi": "record_id", "en": "record_id"},
    "candidate_id": {"vi": "candidate_id", "en": "candidate_id"},
    "stratum": {"vi": "stratum", "en": "stratum"},
    "inclusion_prob": {"vi": "inclusion_prob", "en": "inclusion_prob"},
    "run_fingerprint": {"vi": "run_fingerprint", "en": "run_fingerprint"},
}
for _f, (_vi, _en) in _FIELD.items():
    HEADERS[f"l_{_f}"] = {"vi": f"{_vi} (sổ tiêm)", "en": f"{_en} (registry row)"}
    HEADERS[f"r_{_f}"] = {"vi": f"{_vi} (đối chiếu)", "en": f"{_en} (compared with)"}

QUESTIONS = {
    "link": {"vi": "Dòng sổ tiêm và người trong CSDL dân cư có phải cùng một người?",
             "en": "Is the registry row the same person as the register person?"},
    "unlinked": {"vi": "Dòng sổ tiêm chưa ghép: có phải người trong CSDL dân cư bên cạnh?",
                 "en": "Unlinked registry row: is it the register person beside it?"},
    "dup_subject": {"vi": "Hai hồ sơ tiêm có phải của cùng một người?",
                    "en": "Are the two profiles the same person?"},
    "dup_dose": {"vi": "Hai dòng có phải cùng một mũi tiêm của cùng một người (nhập trùng)?",
                 "en": "Are the two rows the same dose of the same person (typed twice)?"},
}

README_TEXT = {
    "en": """# Review files of run {run} (restricted: personal data)

These files hold names, dates of birth, ID numbers and phone numbers of vaccinated people and
register residents. Keep them under the restricted folder; give them only to the staff who do
the review, and delete returned copies once scored.

- `review.xlsx`: {n} items ({kinds}). For each row, compare the registry row (left columns)
  with what it is compared with (right columns; differing fields are highlighted) and choose
  a decision: {labels}. Do not edit any other column, add or delete rows.
- `review.csv`: the same items with machine column names, for other tools.
- `review_design.json`: the sample design (strata sizes, inclusion probabilities); needed to
  score the returned file.

Score a returned file with `vaxstudy review score --run RUN --labels review.xlsx`.
Run fingerprint: {fingerprint} (a file drawn from another run is refused).
""",
    "vi": """# Tệp rà soát của lần chạy {run} (hạn chế: có dữ liệu cá nhân)

Các tệp này chứa họ tên, ngày sinh, số CCCD/CMND và số điện thoại của người tiêm và cư dân.
Chỉ lưu trong thư mục hạn chế (restricted); chỉ giao cho cán bộ làm rà soát, và xoá các bản
đã nộp lại sau khi chấm.

- `review.xlsx`: {n} mục ({kinds}). Với mỗi dòng, so sánh dòng sổ tiêm (cột bên trái) với
  bản đối chiếu (cột bên phải; trường khác nhau được tô màu) và chọn quyết định: {labels}.
  Không sửa cột khác, không thêm hay xoá dòng.
- `review.csv`: cùng các mục với tên cột máy, dùng cho công cụ khác.
- `review_design.json`: thiết kế mẫu (cỡ tầng, xác suất chọn); cần để chấm tệp nộp lại.

Chấm tệp nộp lại: `vaxstudy review score --run RUN --labels review.xlsx`.
Dấu vân tay lần chạy: {fingerprint} (tệp của lần chạy khác sẽ bị từ chối).
""",
}


def _key(s: object) -> str:
    return " ".join(unicodedata.normalize("NFC", str(s)).casefold().split())


_DECISION_LOOKUP = {_key(d): d for d in DECISIONS}
for _lang in DECISION_LABELS.values():
    _DECISION_LOOKUP.update({_key(v): k for k, v in _lang.items()})
_HEADER_LOOKUP = {_key(c): c for c in HEADERS}
for _c, _h in HEADERS.items():
    _HEADER_LOOKUP.update({_key(v): _c for v in _h.values()})


def decision_value(s: object) -> str | None:
    """'Cùng một người' / 'same' / ' SAME ' → 'same'; None when not a known decision."""
    return _DECISION_LOOKUP.get(_key(s))


def column_name(header: object) -> str | None:
    """A header (machine name or either language's label) → machine name, None if unknown."""
    return _HEADER_LOOKUP.get(_key(header))
