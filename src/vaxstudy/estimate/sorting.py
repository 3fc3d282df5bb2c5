"""Group-bys and look-ups over the estimate's integer codes, by sorting numpy arrays.

The estimate's rows carry integer codes (persons, person keys, subjects, sites, cells); the
pandas group-bys and text or MultiIndex look-ups over the ~1 M rows of a province cost
seconds where one stable sort of the codes costs a tenth of one. Each function here says
which pandas form it replaces and gives its result exactly (integers: no rounding).
"""

from __future__ import annotations

import numpy as np


def starts(*cols: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values (of all ``cols`` together, sorted) begins."""
    n = len(cols[0])
    new = np.zeros(n, dtype=bool)
    if n:
        new[0] = True
    for c in cols:
        new[1:] |= c[1:] != c[:-1]
    return np.flatnonzero(new)


def sorted_by(keys: list[np.ndarray], row: np.ndarray) -> np.ndarray:
    """The order of the rows by ``keys``, then by ``row``: one stable sort of a combined key
    when the rows come in entry order (as the estimate's rows do), else a lexsort."""
    if len(row) > 1 and np.all(row[1:] > row[:-1]):
        key, span = np.zeros(len(row), dtype=np.int64), 1
        for k in keys[::-1]:
            lo, width = int(k.min()), int(k.max()) - int(k.min()) + 1
            if width * span >= 2**62:
                break
            key += (k - lo) * span
            span *= width
        else:
            return np.argsort(key, kind="stable")
    return np.lexsort((row, *keys[::-1]))


def seen_before(*keys: np.ndarray) -> np.ndarray:
    """True where the same combination of ``keys`` (equal-length integer arrays) occurs at an
    earlier position: ``groupby(keys, sort=False).cumcount() > 0``, by one stable sort."""
    return seen_before_among(None, *keys)[0]


def seen_before_among(among: np.ndarray | None, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`seen_before` of all the rows, and (``among``: a boolean mask, or None) of the rows in
    ``among`` alone (False elsewhere: ``seen_before`` of ``keys[among]`` put back in place),
    by one sort for both: the rows in ``among`` keep the sorted order's positions."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=bool), None if among is None else np.zeros(0, dtype=bool)
    order = np.lexsort(keys[::-1])  # stable: equal keys keep their positions' order
    out = _repeats(order, keys, n)
    return out, None if among is None else _repeats(order[np.asarray(among, dtype=bool)[order]], keys, n)


def _repeats(order: np.ndarray, keys: tuple[np.ndarray, ...], n: int) -> np.ndarray:
    """Per row (length ``n``): True where the row, at its place in ``order`` (rows sorted by
    ``keys``, equal keys in position order), follows a row with the same keys."""
    out = np.zeros(n, dtype=bool)
    if len(order) == 0:
        return out
    new = np.zeros(len(order), dtype=bool)
    new[0] = True
    for k in keys:
        ks = k[order]
        new[1:] |= ks[1:] != ks[:-1]
    out[order] = ~new
    return out


def lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray, fill) -> np.ndarray:
    """``pd.Series(values, index=keys).reindex(query).fillna(fill)`` for unique ``keys``
    (non-negative integer codes, as integers or floats; a NaN query finds nothing), as an
    array: a table indexed by code where the codes are dense enough, else a binary search.
    Signed integer codes are read as they are (no float copies, no check that they are whole)."""
    keys, values, q = np.asarray(keys), np.asarray(values), np.asarray(query)
    out = np.full(len(q), fill, dtype=np.result_type(values.dtype, np.min_scalar_type(fill)))
    if len(keys) == 0 or len(q) == 0:
        return out
    if keys.dtype.kind == "i" and q.dtype.kind == "i":
        ok, qo, whole = None, q, True
    else:
        keys, q = keys.astype(float, copy=False), q.astype(float, copy=False)
        ok = ~np.isnan(q)
        qo = q[ok]
        whole = np.array_equal(keys, np.floor(keys)) and np.array_equal(qo, np.floor(qo))
    lo = min(float(keys.min()), float(qo.min(initial=0)))  # a missing id's code may be -1
    top = max(float(keys.max()), float(qo.max(initial=0))) - lo
    if whole and top < 4 * (len(keys) + len(q)) + 1024:  # dense codes: one table, read at each query
        table = np.full(int(top) + 1, -1, dtype=np.int64)
        table[(keys - lo).astype(np.int64)] = np.arange(len(keys))
        if ok is None:
            at = table[q - int(lo)]
            hit = at >= 0
        else:
            at = table[np.where(ok, q - lo, 0.0).astype(np.int64)]
            hit = ok & (at >= 0)
        out[hit] = values[at[hit]]
        return out
    keys, q = keys.astype(float), q.astype(float)
    ok = ~np.isnan(q) if ok is None else ok
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    pos = np.minimum(np.searchsorted(sk, np.where(ok, q, 0.0)), len(sk) - 1)
    hit = ok & (sk[pos] == q)
    out[hit] = values[order][pos[hit]]
    return out


def pair_key(a: np.ndarray, b: np.ndarray, b_lo: int, b_width: int) -> np.ndarray:
    """One number per pair (a, b) of non-negative integer codes, ``b`` within [b_lo, b_lo +
    b_width) (NaN where ``a`` is NaN): look-ups of (person, dose) pairs by :func:`lookup`.
    Floats: exact below 2**53."""
    a = np.asarray(a, dtype=float)
    return a * b_width + (np.asarray(b, dtype=float) - b_lo)
