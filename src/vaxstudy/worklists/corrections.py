"""corrections.csv (CONTRACT §2, "Corrections"): the worklists' tasks, one action a line.

Columns: action, record_id, subject_id, field, current_value, proposed_value, target_id,
probability. ``merge_subject``: subject_id into target_id; ``delete_duplicate_dose``:
record_id repeats target_id; ``set_field``: field of record_id from current to proposed;
``check_residence``: record_id not found in the register, target_id = best candidate or
empty, probability = P(not in the register); ``complete_register_entry`` (a project
addition, docs/contract.md): record_id's person is in the register with an entry lacking
a date of birth, target_id = that person_id, field ``date_of_birth``, proposed_value = the
date as the row holds it, probability = the link's; ``enter_missing_doses``: site_id in target_id,
vaccination_date in field, count in proposed_value (dose number in current_value).
A probability the linkage does not give (pairs of persons outside the register) is empty.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vaxstudy.worklists.queries import Items

COLUMNS = ("action", "record_id", "subject_id", "field", "current_value", "proposed_value", "target_id",
           "probability")
ACTIONS = ("merge_subject", "delete_duplicate_dose", "set_field", "check_residence", "complete_register_entry",
           "enter_missing_doses")
FIELDS = ("full_name", "date_of_birth", "sex", "id_number")


class CorrectionsError(ValueError):
    """A corrections file that cannot be applied as it is."""


def _frame(action: str, n: int, **cols) -> pd.DataFrame:
    f = pd.DataFrame({c: cols.get(c, np.full(n, None, dtype=object)) for c in COLUMNS[1:]})
    f.insert(0, "action", action)
    return f


def build_corrections(items: Items) -> pd.DataFrame:
    """Every task of the worklists as a corrections line, in the worklists' order."""
    parts = []
    s = items.subjects
    if len(s):
        m = s[s["role"] == "merge"]
        parts.append(_frame("merge_subject", len(m), subject_id=m["subject_id"].to_numpy(),
                            target_id=m["target_subject_id"].to_numpy(), probability=m["probability"].to_numpy()))
    d = items.doses
    parts.append(_frame("delete_duplicate_dose", len(d), record_id=d["record_id"].to_numpy(),
                        subject_id=d["subject_id"].to_numpy(), target_id=d["original_record_id"].to_numpy(),
                        probability=d["probability"].to_numpy()))
    i = items.identity
    parts.append(_frame("set_field", len(i), record_id=i["record_id"].to_numpy(),
                        subject_id=i["subject_id"].to_numpy(), field=i["field"].to_numpy(),
                        current_value=i["current_value"].to_numpy(), proposed_value=i["proposed_value"].to_numpy(),
                        probability=i["probability"].to_numpy()))
    u = items.unlinked
    done = (u["task"] == "complete_register_entry") if len(u) else pd.Series(dtype=bool)
    c, u = u[done], u[~done]
    parts.append(_frame("check_residence", len(u), record_id=u["record_id"].to_numpy(),
                        subject_id=u["subject_id"].to_numpy(), target_id=u["best_person_id"].to_numpy(),
                        probability=u["probability"].to_numpy()))
    parts.append(_frame("complete_register_entry", len(c), record_id=c["record_id"].to_numpy(),
                        subject_id=c["subject_id"].to_numpy(), field=np.full(len(c), "date_of_birth", dtype=object),
                        proposed_value=c["date_of_birth"].to_numpy(), target_id=c["incomplete_person_id"].to_numpy(),
                        probability=c["incomplete_q"].to_numpy()))
    g = items.tally
    parts.append(_frame("enter_missing_doses", len(g), target_id=g["site_id"].to_numpy(),
                        field=pd.to_datetime(g["vdate"]).dt.strftime("%Y-%m-%d").to_numpy(),
                        current_value=g["dose"].astype(str).to_numpy(), proposed_value=g["gap"].astype(str).to_numpy(),
                        probability=g["probability"].to_numpy()))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame(columns=list(COLUMNS))
    out["probability"] = pd.to_numeric(out["probability"], errors="coerce").round(6)
    return out[list(COLUMNS)]


def write_corrections(frame: pd.DataFrame, path: str | Path) -> Path:
    """UTF-8 CSV (with BOM, so a spreadsheet shows the diacritics), empty cells for none."""
    path = Path(path)
    frame.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.6g")
    return path


def read_corrections(path: str | Path) -> pd.DataFrame:
    """Read and check a corrections file: its columns, actions, fields and probabilities."""
    path = Path(path)
    if not path.is_file():
        raise CorrectionsError(f"{path}: no such corrections file")
    try:
        f = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CorrectionsError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [c for c in COLUMNS if c not in f.columns]
    if missing:
        raise CorrectionsError(f"{path}: missing column(s) {missing}; expected {list(COLUMNS)}")
    f = f[list(COLUMNS)].copy()
    bad = f[~f["action"].isin(ACTIONS)]
    if len(bad):
        raise CorrectionsError(f"{path}: unknown action(s) {sorted(set(bad['action']))[:5]} "
                               f"(line {int(bad.index[0]) + 2}); expected one of {list(ACTIONS)}")
    sf = f[(f["action"] == "set_field") & ~f["field"].isin(FIELDS)]
    if len(sf):
        raise CorrectionsError(f"{path}: set_field on unknown field(s) {sorted(set(sf['field']))[:5]} "
                               f"(line {int(sf.index[0]) + 2}); expected one of {list(FIELDS)}")
    p = pd.to_numeric(f["probability"].replace("", np.nan), errors="coerce")
    wrong = f["probability"].ne("") & (p.isna() | (p < 0) | (p > 1))
    if wrong.any():
        i = int(np.flatnonzero(wrong.to_numpy())[0])
        raise CorrectionsError(f"{path}: probability must be empty or in [0, 1], not "
                               f"{f['probability'].iloc[i]!r} (line {i + 2})")
    f["probability"] = p
    return f
