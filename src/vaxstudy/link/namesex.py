"""The name parts and sex are not independent: the Bayes factor of a pair that agrees on both.

The model multiplies a term-frequency factor per name part (the chance that a random other
person has this middle name, this given name) by the sex comparison's factor, as if they were
independent. Vietnamese middle and given names are largely sex-specific (Văn, Thị, Hùng, Hoa):
two people who share "Thị Hoa" are almost surely both women, so the sex agreement and each
agreeing part say much the same thing. Measured on a full-scale register (3.4 million
persons): pairs sharing the whole ASCII name and sex are 1.70 × 1.99 ≈ 3.4 times more common
than the model's product, while within each sex the parts are independent (0.2 % off). The
model's probability of a namesake born the same day was therefore 2-3.4 times too confident.

The correction: where the two sides agree on sex x, each agreeing middle or given name v
divides the Bayes factor by r(v, x) = f(v | x) / f(v), its frequency among persons of sex x
over its frequency among all, taken from the register (one row per person, so no link and no
truth is needed), with one pseudo-person spread by sex so that a name seen once is not taken
as certainly of one sex. The chance that a random person shares (x, middle, given) is then
P(x) f(middle | x) f(given | x), the product the register supports, instead of
P(same sex) f(middle) f(given). r is at most 1 / P(x) (about 2) per part.

Off by default (``LinkOptions.name_sex``): once EM learnt its m's on whole-name blocks, the
correction made the full-scale probabilities three times underconfident (docs/linkage.md,
*Calibration at full scale*).
"""

from __future__ import annotations

from typing import Any

from vaxstudy.link.decide import engine
from vaxstudy.sql import literal

TABLE = "link_name_sex"
PARTS: tuple[str, ...] = ("middle_name_ascii", "given_name_ascii")
PSEUDO = 1.0  # pseudo-persons per name value, spread over the sexes as the register is


def name_sex_table(con: Any, reg: str = "link_reg", *, backend: Any = None, out: str = TABLE) -> None:
    """``out`` (part, v, sex, l2r): log2 r(v, x) for every middle and given name of the register."""
    sel = " UNION ALL ".join(
        f"SELECT {literal(p)} AS part, {p} AS v, sex FROM {reg} WHERE sex IS NOT NULL AND {p} IS NOT NULL"
        for p in PARTS)
    engine(backend).tables.create_table(
        con, out,
        f"""
        WITH fx AS (SELECT sex, CAST(count(*) AS DOUBLE) / sum(count(*)) OVER () AS p_x
                    FROM {reg} WHERE sex IS NOT NULL GROUP BY sex),
             c AS (SELECT part, v, sex, CAST(count(*) AS DOUBLE) AS c FROM ({sel}) s GROUP BY part, v, sex),
             t AS (SELECT part, v, sum(c) AS c_v FROM c GROUP BY part, v)
        SELECT c.part, c.v, c.sex,
               log2(((c.c + {PSEUDO!r} * fx.p_x) / (t.c_v + {PSEUDO!r})) / fx.p_x) AS l2r
        FROM c JOIN t USING (part, v) JOIN fx USING (sex)""",
    )


def correct_pairs(con: Any, pairs: str = "link_pairs", reg: str = "link_reg", vax: str = "link_vax",
                  *, backend: Any = None) -> dict[str, float]:
    """Replace ``pairs`` (ident, person_id, bf) with the name-sex corrected bf: minus
    log2 r of each middle / given name the register person and the row agree on, where
    their sexes agree. Returns the number of pairs corrected and the mean correction (bits)."""
    be = engine(backend)
    name_sex_table(con, reg, backend=be)
    joins = " ".join(
        f"LEFT JOIN {TABLE} t{i} ON t{i}.part = '{p}' AND t{i}.v = r.{p} AND t{i}.sex = r.sex "
        f"AND v.{p} = r.{p} AND v.sex = r.sex" for i, p in enumerate(PARTS))
    terms = " + ".join(f"coalesce(t{i}.l2r, 0)" for i in range(len(PARTS)))
    be.tables.create_table(
        con, f"{pairs}_ns",
        f"""
        SELECT p.ident, p.person_id, p.bf, {terms} AS ns
        FROM {pairs} p JOIN {vax} v ON v.unique_id = p.ident JOIN {reg} r ON r.unique_id = p.person_id
        {joins}""",
    )
    n, mean = be.tables.fetch(con, f"SELECT count(*) FILTER (WHERE ns <> 0), coalesce(avg(ns), 0) FROM {pairs}_ns")[0]
    be.tables.create_table(con, pairs, f"SELECT ident, person_id, bf - ns AS bf FROM {pairs}_ns")
    return {"n_pairs_corrected": int(n), "mean_bits": float(mean)}
