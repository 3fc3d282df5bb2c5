"""Duplicate-subject groups and duplicate-dose pairs, counted exactly as the estimate counts them.

Both work on the estimate's own rows (:meth:`vaxstudy.estimate.data.Inputs.scope_rows`):
a subject is a duplicate profile when :func:`vaxstudy.estimate.rates.subject_table` gives
its person more than one profile in scope, a row is a duplicate dose when the estimate's
``is_dup_scope`` flag is set, and the row it repeats is the first in-scope row of the same
(person_key, dose_number), the very row that made the flag count. So a worklist's counts
are the numerators of duplicate_subject_rate and duplicate_dose_rate in metrics.json.
Reusable: the review sample draws from the same pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaxstudy.estimate.rates import subject_table


def subject_link_probability(scope: pd.DataFrame) -> pd.Series:
    """Per (subject code, person_key code): the lowest match probability of the subject's rows
    linked to that person (NaN where the person is not a register person)."""
    return scope.groupby(["subject_id", "person_key"], sort=False)["q"].min()


def duplicate_subject_groups(scope: pd.DataFrame) -> pd.DataFrame:
    """The subjects (software profiles) of every person with more than one profile in scope.

    Columns of ``subject_table`` (subject_id and person_key as the estimate's integer codes,
    first_row, site, n_rows, person_rank, is_dup_subject) plus ``q``: the subject's link
    probability to that person. ``is_dup_subject.sum()`` is the estimate's count.
    """
    st = subject_table(scope)
    st = st[st.groupby("person_key")["subject_id"].transform("size") > 1].reset_index(drop=True)
    q = subject_link_probability(scope)
    st["q"] = q.reindex(pd.MultiIndex.from_frame(st[["subject_id", "person_key"]])).to_numpy(dtype=float)
    return st


def pair_probability(same_subject: np.ndarray, q_a: np.ndarray, q_b: np.ndarray) -> np.ndarray:
    """P(two rows or profiles are one person): 1 within one profile (the software's own person);
    else the product of their links to the same register person (both links right); NaN for
    persons outside the register (the linkage keeps no pairwise probability for them)."""
    p = np.asarray(q_a, dtype=float) * np.asarray(q_b, dtype=float)
    return np.where(np.asarray(same_subject, dtype=bool), 1.0, p)


def duplicate_dose_pairs(scope: pd.DataFrame) -> pd.DataFrame:
    """One line per duplicate-dose row in scope: record_id, original_record_id (the row it repeats),
    person_key, dose, same_subject, probability. Its length is the estimate's duplicate count."""
    sc = scope[["record_id", "subject_id", "person_key", "dose", "q", "is_dup_scope"]]
    gid = sc.groupby(["person_key", "dose"], sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(sc))).groupby(gid).min().to_numpy()[gid]  # position of the kept row
    d = sc["is_dup_scope"].to_numpy(dtype=bool)
    rec, subj, q = sc["record_id"].to_numpy(), sc["subject_id"].to_numpy(), sc["q"].to_numpy(dtype=float)
    out = pd.DataFrame({
        "record_id": rec[d],
        "original_record_id": rec[first][d],
        "person_key": sc["person_key"].to_numpy()[d],
        "dose": sc["dose"].to_numpy()[d],
        "same_subject": (subj == subj[first])[d],
    })
    out["probability"] = pair_probability(out["same_subject"].to_numpy(), q[d], q[first][d])
    return out
