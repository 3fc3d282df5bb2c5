"""Paper tally counting errors: the under-counts that show, and those that hide behind missing entries.

A site-day whose tally is below its distinct entered doses is a paper under-count that shows. An
under-count on a day that also lacks entries hides (entered <= tally), and an over-count always
hides. The net missing doses (tally - entered) hold every over-count minus every under-count, so
what is never entered is ``net - over-counts + under-counts``; the visible under-counts' part is
known, the rest is estimated here.

**Model** (what it assumes, for synthetic and real paper tallies alike):

* each tally (site-day-dose) has a counting error with one chance per tally (every site and both
  doses alike), up as often as down, of a size j = 1, 2, ... drawn from one distribution ``p_j``
  for both directions, independent of the day's count and of its missing entries;
* a count cannot go below 0: an under-count of size j on a day of c doses takes min(j, c) off;
* each tallied day's own count and missing entries stand for those of a day the error might hit
  (the tally and the distinct entries of the day, ``c = max(t, e)``, ``m = max(t - e, 0)``).

So an under-count of size j on a day (c, m) shows an excess ``v = min(j, c) - m`` when v > 0 and
hides otherwise. ``A[v, j]``, the share of tallies on which a size-j under-count shows v, turns
the expected under-counts of each size (``theta_j``, over all tallies) into the expected visible
excesses; the visible excesses (counts n_v) are Poisson with mean ``A theta``, and theta is their
maximum-likelihood estimate (EM for a Poisson linear model, as in emission tomography). That gives
the number of errors per tally, with the under-counts hidden on days with missing entries counted
too (the visible count alone is short of it), and their size distribution with the truncation by
the day's count and the selection by its missing entries undone. By the symmetry the over-counts
are as many, of the same sizes, untruncated. Not identified from the data: the symmetry itself
(an over-count never shows) and an error rate that differs between sites or with the day's load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

EM_ITER = 5000  # EM iterations at most (a handful of sizes: milliseconds)
EM_TOL = 1e-12  # stop once no expected count moves by more than this share


@dataclass(frozen=True)
class ErrorModel:
    rate: float  # expected under-counts (= over-counts) per tally
    sizes: np.ndarray  # sizes[j - 1] = P(size = j), j = 1..J
    n_visible: float  # visible under-count site-days the model is read from
    n_tallies: float = 0.0  # the tallies it is read from (both doses)
    # (J, J) covariance of the expected under-counts of each size over those tallies (theta): the
    # inverse Fisher information of the Poisson fit, sizes fitted to 0 held there
    cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def moments(self) -> tuple[float, float]:
        """Mean and mean square size of an error (an over-count's, never truncated)."""
        j = np.arange(1, len(self.sizes) + 1, dtype=float)
        return float(self.sizes @ j), float(self.sizes @ j**2)


def site_days(ek: pd.DataFrame, tk: pd.DataFrame) -> pd.DataFrame:
    """Every tallied site-day of one dose: site, tally t and distinct entered doses e (0 if none).

    Entries on a day without a tally (another province's site) are no paper count's error."""
    t = tk.groupby(["site", "vdate"])["doses"].sum().astype(float).rename("t")
    e = ek.groupby(["site", "vdate"]).size().rename("e")
    d = t.to_frame().join(e, how="left").fillna({"e": 0.0}).reset_index()
    return pd.DataFrame({"site": d["site"].to_numpy(dtype=np.int64), "t": d["t"].to_numpy(dtype=float),
                         "e": d["e"].to_numpy(dtype=float)})


def visibility(t: np.ndarray, e: np.ndarray, J: int) -> np.ndarray:
    """(J, J) ``A[v - 1, j - 1]``: share of the tallies (t, e) on which an under-count of size j
    would show an excess of v entered doses over the tally."""
    t, e = np.asarray(t, dtype=float), np.asarray(e, dtype=float)
    c, m = np.maximum(t, e), np.maximum(t - e, 0.0)
    A = np.zeros((J, J))
    for j in range(1, J + 1):
        v = (np.minimum(j, c) - m).astype(np.int64)
        A[:, j - 1] = np.bincount(v[v >= 1], minlength=J + 1)[1:J + 1]
    return A / max(len(t), 1)


def fit(t: np.ndarray, e: np.ndarray) -> ErrorModel:
    """The error model from every tallied site-day (tally t, distinct entered e; both doses)."""
    t, e = np.asarray(t, dtype=float), np.asarray(e, dtype=float)
    vis = e > t
    if not vis.any():
        return ErrorModel(0.0, np.zeros(0), 0.0)
    u = (e - t)[vis].astype(np.int64)
    J = int(u.max())  # the largest size seen is taken as the largest there is
    n = np.bincount(u, minlength=J + 1)[1:].astype(float)
    A = visibility(t, e, J)
    phi = A.sum(axis=0)  # chance that a size-j under-count shows at all
    ok = phi > 0
    theta = np.where(ok, n.sum() / max(float(phi.sum()), 1e-300), 0.0)
    for _ in range(EM_ITER):
        lam = A @ theta
        ratio = np.where(lam > 0, n / np.where(lam > 0, lam, 1.0), 0.0)
        new = np.where(ok, theta * (A.T @ ratio) / np.where(ok, phi, 1.0), 0.0)
        done = np.abs(new - theta).max() <= EM_TOL * max(float(new.sum()), 1.0)
        theta = new
        if done:
            break
    tot = float(theta.sum())
    return ErrorModel(tot / len(t), theta / tot if tot > 0 else theta, float(vis.sum()), float(len(t)),
                      _covariance(A, theta))


def _covariance(A: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Inverse Fisher information of the Poisson counts n_v ~ Poisson((A theta)_v), over the sizes
    fitted above 0 (a size at 0 is held there: a boundary has no normal spread)."""
    lam = A @ theta
    rows = lam > 0
    free = theta > EM_TOL * max(float(theta.sum()), 1.0)
    cov = np.zeros((len(theta), len(theta)))
    if free.any():
        Af = A[np.ix_(rows, free)]
        info = Af.T @ (Af / lam[rows, None])
        cov[np.ix_(free, free)] = np.linalg.pinv(info)
    return cov


def net_weights(model: ErrorModel, days: pd.DataFrame, S: int) -> np.ndarray:
    """(S, J) per site, for one dose's tallied days: the net excess taken off (over-counts minus the
    under-counts' unseen part) per expected under-count of each size over all tallies, so that the
    net is ``weights @ theta`` and its variance ``w' cov w`` (:attr:`ErrorModel.cov`)."""
    J = len(model.sizes)
    if model.n_tallies == 0 or not len(days) or J == 0:
        return np.zeros((S, J))
    site, j, h = _unseen(days, J)
    n_tal = np.bincount(site, minlength=S).astype(float)
    unseen = np.stack([np.bincount(site, weights=h[:, k], minlength=S) for k in range(J)], axis=1)
    return (n_tal[:, None] * j[None, :] - unseen) / model.n_tallies


def site_errors(model: ErrorModel, days: pd.DataFrame, S: int) -> np.ndarray:
    """(4, S) per site, for one dose's tallied days: the over-counts' expected doses and mean
    square (n x size, n x size^2), and the under-counts' expected doses that no visible excess
    shows (hidden ones whole, visible ones their part behind the day's missing entries:
    min(j, c, m)), doses and squares."""
    out = np.zeros((4, S))
    if model.rate == 0 or not len(days):
        return out
    site, j, h = _unseen(days, len(model.sizes))
    s1, s2 = model.moments
    n_tal = np.bincount(site, minlength=S).astype(float)
    out[0], out[1] = model.rate * n_tal * s1, model.rate * n_tal * s2
    out[2] = np.bincount(site, weights=model.rate * (h @ model.sizes), minlength=S)
    out[3] = np.bincount(site, weights=model.rate * (h**2 @ model.sizes), minlength=S)
    return out


def _unseen(days: pd.DataFrame, J: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each tallied day's site, the sizes j = 1..J, and (days, J) the part min(j, c, m) of a size-j
    under-count there that no visible excess shows (c = the day's count, m = its missing entries)."""
    site = days["site"].to_numpy(dtype=np.int64)
    t, e = days["t"].to_numpy(dtype=float), days["e"].to_numpy(dtype=float)
    c, m = np.maximum(t, e), np.maximum(t - e, 0.0)
    j = np.arange(1, J + 1, dtype=float)
    return site, j, np.minimum(np.minimum(j[None, :], c[:, None]), m[:, None])
