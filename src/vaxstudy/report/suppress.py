"""Small-cell suppression with secondary (complementary) suppression.

Primary: a count c with 0 < c < threshold is hidden (zeros too when
`suppress_zero`). Secondary: wherever a set of cells adds up to a published
total (a column of a table whose total is shown, the parts of a row), one
hidden cell alone could be recovered as total − the others, so a second cell
is hidden too — the smallest visible one, preferring non-zero cells. Both
rules run until nothing changes.

Rates are protected through the counts they imply: a rate over a denominator
n stands for n·rate people with and n·(1−rate) without the attribute; it is
hidden when n, or either implied count, is small, and secondary suppression
runs over the implied numerators (the published overall rate and the group
sizes would otherwise give a hidden rate away).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from vaxstudy.config import SUPPRESSION_THRESHOLD

MARK = "x"  # what a suppressed cell shows, in tables and figures


@dataclass(frozen=True)
class Suppressed:
    """A table after suppression: `values` with NaN in hidden cells, `mask` True where hidden."""

    values: pd.DataFrame
    mask: pd.DataFrame
    threshold: int

    @property
    def n_primary(self) -> int:
        return int(self.mask.attrs.get("n_primary", 0))

    @property
    def n_hidden(self) -> int:
        return int(self.mask.to_numpy().sum())


def primary_mask(values: Iterable[float], threshold: int = SUPPRESSION_THRESHOLD,
                 suppress_zero: bool = False) -> np.ndarray:
    """True where a count is small enough to hide (0 < c < threshold; c == 0 too if asked)."""
    v = np.asarray(list(values) if not isinstance(values, (np.ndarray, pd.Series)) else values,
                   dtype=float)
    small = (v > 0) & (v < threshold)
    if suppress_zero:
        small |= v == 0
    return small & ~np.isnan(v)


def secondary_1d(values: Sequence[float], mask: Sequence[bool]) -> np.ndarray:
    """Hide one more cell where exactly one cell of the group is hidden.

    `values` are the cells of one group adding to a published total. Returns
    the new mask. The cell chosen is the smallest visible non-zero one (a zero
    only when nothing else is left), ties broken by position, so the result
    is deterministic.
    """
    v = np.asarray(values, dtype=float)
    m = np.asarray(mask, dtype=bool).copy()
    valid = ~np.isnan(v)
    if int((m & valid).sum()) != 1:
        return m
    candidates = np.where(valid & ~m)[0]
    if candidates.size == 0:
        return m
    nonzero = [i for i in candidates if v[i] > 0]
    pool = nonzero if nonzero else list(candidates)
    pick = min(pool, key=lambda i: (v[i], i))
    m[pick] = True
    return m


def suppress_counts(
    df: pd.DataFrame,
    count_cols: Sequence[str],
    threshold: int = SUPPRESSION_THRESHOLD,
    *,
    by: str | Sequence[str] | None = None,
    column_totals: bool = True,
    row_totals: bool = False,
    suppress_zero: bool = False,
) -> Suppressed:
    """Primary + secondary suppression of the count columns of `df`.

    column_totals: each count column (within each `by` group) sums to a
    published total, so it needs secondary suppression down the rows.
    row_totals: the count columns of a row are parts of a published row total
    (e.g. men + women = all), so each row needs it across the columns too.
    """
    cols = list(count_cols)
    vals = df[cols].astype(float)
    mask = pd.DataFrame(False, index=df.index, columns=cols)
    for c in cols:
        mask[c] = primary_mask(vals[c].to_numpy(), threshold, suppress_zero)
    n_primary = int(mask.to_numpy().sum())

    if by is None:
        groups = [df.index]
    else:
        groups = [idx for _, idx in df.groupby(by, sort=False, dropna=False).groups.items()]

    changed = True
    while changed:
        changed = False
        if column_totals:
            for idx in groups:
                for c in cols:
                    before = mask.loc[idx, c].to_numpy()
                    after = secondary_1d(vals.loc[idx, c].to_numpy(), before)
                    if (after != before).any():
                        mask.loc[idx, c] = after
                        changed = True
        if row_totals and len(cols) > 1:
            for i in df.index:
                before = mask.loc[i, cols].to_numpy(dtype=bool)
                after = secondary_1d(vals.loc[i, cols].to_numpy(), before)
                if (after != before).any():
                    mask.loc[i, cols] = after
                    changed = True

    out = df.copy()
    for c in cols:
        out[c] = vals[c].where(~mask[c])
    mask.attrs["n_primary"] = n_primary
    return Suppressed(values=out, mask=mask, threshold=threshold)


def suppress_rates(
    df: pd.DataFrame,
    rate_cols: Sequence[str],
    denominator_col: str,
    threshold: int = SUPPRESSION_THRESHOLD,
    *,
    ci_suffix: str = "_ci",
    secondary: bool = True,
) -> Suppressed:
    """Hide rates resting on small numbers, and their intervals.

    A rate r over n is hidden when 0 < n < threshold, or when n·r or n·(1−r)
    rounds to a count in (0, threshold). Secondary suppression then runs over
    the implied numerators n·r of each rate column (the overall rate and the
    group sizes are published). A column `<rate><ci_suffix>` present in `df`
    is hidden with its rate. The denominator column itself is left as is
    (hide it with `suppress_counts` if it is shown).
    """
    n = df[denominator_col].astype(float).to_numpy()
    mask = pd.DataFrame(False, index=df.index, columns=list(rate_cols))
    out = df.copy()
    n_primary = 0
    for c in rate_cols:
        r = df[c].astype(float).to_numpy()
        num = np.round(n * r)
        comp = np.round(n * (1.0 - r))
        m = primary_mask(n, threshold) | primary_mask(num, threshold) | primary_mask(comp, threshold)
        m &= ~np.isnan(r)
        n_primary += int(m.sum())
        if secondary:
            m = secondary_1d(np.where(np.isnan(r), np.nan, num), m)
        mask[c] = m
        out[c] = df[c].where(~m)
        ci = c + ci_suffix
        if ci in out.columns:
            out[ci] = [None if hide else v for v, hide in zip(df[ci], m)]
    mask.attrs["n_primary"] = n_primary
    return Suppressed(values=out, mask=mask, threshold=threshold)


def suppress_series(values: Sequence[float], threshold: int = SUPPRESSION_THRESHOLD,
                    total_published: bool = True) -> np.ndarray:
    """Mask for a single series of counts (e.g. weekly doses) whose total may be shown."""
    m = primary_mask(values, threshold)
    return secondary_1d(values, m) if total_published else m


def format_cell(value, hidden: bool, formatter) -> str:
    """The text of one table cell: MARK where hidden, else `formatter(value)`."""
    return MARK if hidden else formatter(value)
