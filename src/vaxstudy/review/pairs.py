"""Reviewers' decisions on duplicate pairs, turned into what the link stage must do with them.

A ``dup_subject`` decision is about two profiles: every identity of the record's profile (side
a) against every identity of the candidate profile (side b). A ``dup_dose`` decision is about
two rows: the flagged row's identity against the identity of the row it repeats. The rules
(docs/review.md, *Decisions feed back*), applied in :func:`resolve_pairs`:

* ``different`` on profiles: the two sides may not share a person. Where both are linked to
  one register person, the side with the weaker link to that person loses it (on a tie the
  record's side, i.e. the later profile; never a link a reviewer made), and its identities go
  to the deduplication of unlinked rows; there, each identity of a is kept apart from each of
  b (``cannot`` pairs, honoured by :func:`vaxstudy.link.dedupe.constrained_components`).
  Two profiles sharing an identity (all compared fields equal) cannot be told apart by the
  link: such a decision is counted as not honoured.
* ``same`` (on profiles or doses): the sides are one person. If no identity of either side is
  linked, they are joined in the deduplication (``must`` pairs); if the linked ones all point
  at one register person, the unlinked identities are linked to that person (with the
  strongest of the sides' link probabilities); if they point at two register persons, or the
  join would reunite a pair decided ``different``, the decision is counted as a conflict and
  not applied (review those rows' links instead).
* ``different`` on doses says only that the row is not a repeat of that row: its duplicate
  flag follows it in :func:`vaxstudy.link.doses.build_record_links`, its person is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

PAIR_KINDS = ("dup_subject", "dup_dose")


@dataclass(frozen=True)
class Pair:
    """One decided pair, with the identities of its two sides."""

    kind: str
    record_id: str
    candidate_id: str
    decision: str
    a: frozenset[str]
    b: frozenset[str]


@dataclass
class Resolution:
    """What the pairs change: links removed (ident), links added (ident → person, probability),
    identity pairs joined / kept apart in the deduplication, and counts for link_summary.json."""

    removed: dict[str, str] = field(default_factory=dict)
    added: dict[str, tuple[str, float]] = field(default_factory=dict)
    must: list[tuple[str, str]] = field(default_factory=list)
    cannot: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {
        "pairs": 0, "applied": 0, "not_honoured_shared_identity": 0, "conflicts": 0})


def pair_sides(decisions: pd.DataFrame, rows: pd.DataFrame) -> list[Pair]:
    """The decided pairs (``decisions``: kind, record_id, candidate_id, decision) with their
    identities, from ``rows`` (record_id, subject_id, ident) of the records and profiles named.
    A pair whose record or profile is not in ``rows`` (another export) is left out."""
    rec = rows.drop_duplicates("record_id").set_index("record_id")
    by_subject = rows.groupby("subject_id")["ident"].agg(frozenset)
    out = []
    for d in decisions.itertuples():
        if d.kind not in PAIR_KINDS or d.decision not in ("same", "different") or d.record_id not in rec.index:
            continue
        if d.kind == "dup_subject":
            a = by_subject.get(rec.at[d.record_id, "subject_id"])
            b = by_subject.get(d.candidate_id)
        else:
            a = frozenset([rec.at[d.record_id, "ident"]])
            b = frozenset([rec.at[d.candidate_id, "ident"]]) if d.candidate_id in rec.index else None
        if a and b:
            out.append(Pair(d.kind, d.record_id, d.candidate_id, d.decision, a, b))
    return out


def resolve_pairs(pairs: list[Pair], links: dict[str, tuple[str, float]],
                  reviewer_links: set[tuple[str, str]] = frozenset()) -> Resolution:
    """Apply the module's rules to ``links`` ({ident: (person_id, probability)}, the link
    stage's accepted links; not modified). ``reviewer_links``: (ident, person) links a reviewer
    made, never removed. ``different`` pairs first, then ``same``, each in a fixed order."""
    res = Resolution()
    link = dict(links)
    apart: dict[str, set[str]] = {}
    order = sorted(pairs, key=lambda p: (p.decision != "different", p.kind, p.record_id, p.candidate_id))
    for p in order:
        res.counts["pairs"] += 1
        if p.decision == "different":
            if p.kind == "dup_dose":  # only the duplicate flag (doses.py)
                res.counts["applied"] += 1
                continue
            if p.a & p.b:
                res.counts["not_honoured_shared_identity"] += 1
                continue
            ok = True
            shared = {link[x][0] for x in p.a if x in link} & {link[x][0] for x in p.b if x in link}
            for person in sorted(shared):
                side = _weaker_side(p, person, link, reviewer_links)
                if side is None:
                    ok = False
                    continue
                for x in side:
                    if x in link and link[x][0] == person:
                        res.removed[x] = person
                        del link[x]
            res.cannot += [(x, y) for x in sorted(p.a) for y in sorted(p.b)]
            for x in p.a:
                apart.setdefault(x, set()).update(p.b)
            for y in p.b:
                apart.setdefault(y, set()).update(p.a)
            res.counts["applied" if ok else "conflicts"] += 1
            continue
        both = p.a | p.b
        persons = {link[x][0] for x in both if x in link}
        if not persons:
            first = min(both)
            res.must += [(first, x) for x in sorted(both - {first})]
            res.counts["applied"] += 1
            continue
        if len(persons) > 1:
            res.counts["conflicts"] += 1
            continue
        person = persons.pop()
        joining = [x for x in sorted(both) if x not in link]
        if any(link.get(y, ("",))[0] == person for x in joining for y in apart.get(x, ())):
            res.counts["conflicts"] += 1
            continue
        q = max(link[x][1] for x in both if x in link)
        for x in joining:
            link[x] = (person, q)
            res.added[x] = (person, q)
        res.counts["applied"] += 1
    return res


def _weaker_side(p: Pair, person: str, link: dict[str, tuple[str, float]],
                 reviewer_links: set[tuple[str, str]]) -> frozenset[str] | None:
    """The side of ``p`` whose link to ``person`` gives way: the weaker, the record's on a tie,
    never one a reviewer made (None when both were)."""
    def strength(side: frozenset[str]) -> float:
        return max(link[x][1] for x in side if x in link and link[x][0] == person)

    def by_reviewer(side: frozenset[str]) -> bool:
        return any((x, person) in reviewer_links for x in side)

    ra, rb = by_reviewer(p.a), by_reviewer(p.b)
    if ra and rb:
        return None
    if ra:
        return p.b
    if rb:
        return p.a
    return p.a if strength(p.a) <= strength(p.b) else p.b
