"""Integer codes of the estimate's ids (persons, person keys, candidates, subjects) and of
the residents' cells: the estimators group and look up on these codes, never on text.

Codes are those of ``pd.factorize`` over the parts one after the other (first appearance,
-1 where missing), made by Arrow's dictionary encoding; the residents' own codes are their
positions when their ids are distinct (:func:`codes_by_position`), so their millions of ids
are not hashed a second time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def cells_and_codes(groups: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct rows of ``groups`` (district, sex, age group of each resident) sorted by its
    columns, and each row's index among them: ``drop_duplicates().sort_values(all columns)`` and a
    MultiIndex look-up, by a sort of the columns' integer codes (a tenth of the CPU on millions
    of residents). A column with a missing value takes the pandas path (their NaN order)."""
    cols = list(groups.columns)
    if len(groups) == 0 or groups.isna().to_numpy().any():
        cells = groups.drop_duplicates().sort_values(cols, ignore_index=True)
        key = pd.Series(np.arange(len(cells)), index=pd.MultiIndex.from_frame(cells))
        return cells, key.reindex(pd.MultiIndex.from_frame(groups)).to_numpy()
    combined, size = np.zeros(len(groups), dtype=np.int64), 1
    for c in cols:  # each column's codes in its sorted order: the combined key sorts as the rows
        codes, uniques = pd.factorize(groups[c], sort=True)
        combined, size = combined * len(uniques) + codes, size * len(uniques)
    if size > 4 * len(groups) + 1024:  # a sparse key space: sort the keys
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        return groups.take(first).reset_index(drop=True), inverse.astype(np.int64).reshape(-1)
    # the few possible keys counted (a sort of millions of keys cost ~0.3 CPU-s): the keys present
    # in order, each row's rank among them, and a row of each (its values are the key's)
    present = np.bincount(combined, minlength=size) > 0
    rank = np.cumsum(present) - 1
    some_row = np.zeros(size, dtype=np.int64)
    some_row[combined] = np.arange(len(combined))
    return groups.take(some_row[present]).reset_index(drop=True), rank[combined].astype(np.int64)


def resident_positions(ids: pd.Series) -> tuple[pd.DataFrame, bool]:
    """The residents' ids (text, each once) with their position in ``ids`` (the first, where an
    id repeats), for the rows' query to join; and whether ``ids`` are all distinct (then a
    resident's :func:`factorize_text` code is its position). Sorted ids (as the adults' query
    gives them) are checked in one pass; others by hashing."""
    import pyarrow.compute as pc

    text = ids.astype(str)
    a = _arrow_text(text)
    unique = a.null_count == 0 and (len(a) < 2 or bool(pc.all(pc.less(a[:-1], a[1:])).as_py()))
    if not unique:
        dup = text.duplicated().to_numpy()
        unique = not dup.any() and a.null_count == 0
        if not unique:
            keep = ~dup & text.notna().to_numpy()
            return pd.DataFrame({"person_id": text[keep].reset_index(drop=True),
                                 "pos": np.flatnonzero(keep).astype(np.int64)}), False
    return pd.DataFrame({"person_id": text.reset_index(drop=True), "pos": np.arange(len(a), dtype=np.int64)}), True


def codes_by_position(n_residents: int, parts: list[pd.Series], positions: list[pd.Series]) -> list[np.ndarray]:
    """:func:`factorize_text` of ``[residents, *parts]`` without the residents' text: ``positions``
    holds, per part, each value's position among the (distinct) residents (missing where it is
    not a resident's id); a resident's id is coded by its position, any other id after the
    residents in the order it first appears in the parts (-1 where missing). The same codes,
    without hashing the millions of residents' ids again."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pos = [p.to_numpy(dtype=float, na_value=np.nan) for p in positions]
    masked = []
    for p, at in zip(parts, pos):
        masked.append(pc.if_else(pa.array(np.isnan(at)), _arrow_text(p), pa.scalar(None, pa.string())))
    other = _encode(masked)
    out, k = [], 0
    for at in pos:
        o = other[k : k + len(at)]
        k += len(at)
        out.append(np.where(np.isnan(at), np.where(o >= 0, o + n_residents, -1), np.nan_to_num(at)).astype(np.int64))
    return out


def _encode(arrays: list) -> np.ndarray:
    """Arrow's dictionary codes of the arrays one after the other (-1 where missing)."""
    import pyarrow as pa

    arr = pa.chunked_array(arrays, type=pa.string()).combine_chunks()
    return arr.dictionary_encode().indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def factorize_text(parts: list[pd.Series]) -> np.ndarray:
    """``pd.factorize`` of the parts one after the other, as text (codes in order of first
    appearance, -1 where missing), by Arrow's dictionary encoding: millions of ids without
    a Python object each."""
    return _encode([_arrow_text(p) for p in parts])


def _arrow_text(p: pd.Series):
    """``p`` as one Arrow string array (missing values null), without a Python object per value
    where the column is already Arrow-backed."""
    import pyarrow as pa

    a = pa.array(p.to_numpy(dtype=object) if p.dtype == object else p, type=pa.string(), from_pandas=True)
    # an Arrow-backed column gives a ChunkedArray when it has no chunk or several
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
