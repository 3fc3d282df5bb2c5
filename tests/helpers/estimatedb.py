"""Hand-made databases for the estimate stage's tests (tests only: not part of the package).

``make_db`` writes the tables ``estimate`` reads (raw, std and
``record_links``) from short lists of dicts, filling the columns a case does
not care about, so a test states only what matters to its answer.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

POP_COLS = {
    "person_id": None,
    "full_name": "Nguyễn Văn A",
    "date_of_birth": "1980-01-01",
    "sex": "M",
    "province_code": "40",
    "district_code": "412",
    "commune_code": "17000",
    "phone": None,
}
VAX_COLS = {
    "record_id": None,
    "subject_id": None,
    "full_name": "Nguyen Van A",
    "date_of_birth": "01/01/1980",
    "sex": "M",
    "id_number": None,
    "phone": None,
    "province_code": "40",
    "district_code": "412",
    "commune_code": "17000",
    "vaccination_date": "2021-08-01",
    "dose_number": 1,
    "vaccine": "AstraZeneca",
    "site_id": "S1",
    "entered_date": None,
}
LINK_COLS = {"record_id": None, "person_id": None, "match_probability": None, "person_key": None,
             "is_duplicate_dose": False}


def _frame(rows: list[dict], defaults: dict) -> pd.DataFrame:
    df = pd.DataFrame([{**defaults, **r} for r in rows], columns=list(defaults) + sorted(
        {k for r in rows for k in r} - set(defaults)
    ))
    return df


def make_db(
    path: str | Path,
    population: list[dict],
    vaccinations: list[dict],
    sites: list[dict],
    tallies: list[dict],
    links: list[dict] | None = None,
    vaccinations_std: list[dict] | None = None,
    truth: list[dict] | None = None,
) -> Path:
    """Write a small database. ``links`` default: rows linked per a ``person`` key
    of each vaccination dict (None = unlinked), probability 1, no duplicates.
    ``_row`` is the position in ``vaccinations``.
    """
    path = Path(path)
    pop = _frame(population, POP_COLS)
    vax_rows = [{k: v for k, v in r.items() if k not in ("person", "q", "dup", "cand", "cand_q", "cand_any",
                                                                "cand2", "cand2_q")}
                for r in vaccinations]
    vax = _frame(vax_rows, VAX_COLS)
    vax["_row"] = range(1, len(vax) + 1)
    vax["_source"] = "vaccinations.csv"
    if links is None:
        with_cand = any("cand" in x for x in vaccinations)
        with_any = any("cand_any" in x for x in vaccinations)
        with_2 = any("cand2" in x for x in vaccinations)  # the runner-up (record_links.second_*)
        links = []
        for r in vaccinations:
            p = r.get("person")
            links.append(
                {
                    "record_id": r["record_id"],
                    "person_id": p if p and not str(p).startswith("X") else None,
                    "match_probability": r.get("q", 1.0 if p and not str(p).startswith("X") else None),
                    "person_key": p or f"k:{r['record_id']}",
                    "is_duplicate_dose": bool(r.get("dup", False)),
                    **({"best_person_id": r.get("cand"), "best_match_probability": r.get("cand_q")}
                       if with_cand else {}),
                    **({"in_register_probability": r.get("cand_any")} if with_any else {}),
                    **({"second_person_id": r.get("cand2"), "second_match_probability": r.get("cand2_q")}
                       if with_2 else {}),
                }
            )
    lk = pd.DataFrame(links)
    site_df = pd.DataFrame(sites)
    tal = pd.DataFrame(tallies)
    con = duckdb.connect(str(path))
    try:
        con.register("pop_df", pop)
        con.execute("CREATE OR REPLACE TABLE population AS SELECT * EXCLUDE (date_of_birth), "
                    "CAST(date_of_birth AS DATE) date_of_birth FROM pop_df")
        con.register("vax_df", vax)
        con.execute(
            "CREATE OR REPLACE TABLE vaccinations AS SELECT * EXCLUDE (vaccination_date, entered_date, dose_number), "
            "CAST(vaccination_date AS DATE) vaccination_date, CAST(entered_date AS DATE) entered_date, "
            "CAST(dose_number AS INTEGER) dose_number FROM vax_df"
        )
        con.register("site_df", site_df)
        con.execute("CREATE OR REPLACE TABLE sites AS SELECT * FROM site_df")
        con.register("tal_df", tal)
        con.execute(
            "CREATE OR REPLACE TABLE tallies AS SELECT CAST(site_id AS VARCHAR) site_id, "
            "CAST(vaccination_date AS DATE) vaccination_date, CAST(dose_number AS INTEGER) dose_number, "
            "CAST(doses_administered AS INTEGER) doses_administered FROM tal_df"
        )
        con.register("lk_df", lk)
        con.execute(
            "CREATE OR REPLACE TABLE record_links AS SELECT * REPLACE (CAST(person_id AS VARCHAR) AS person_id, "
            "CAST(match_probability AS DOUBLE) AS match_probability) FROM lk_df"
        )
        if vaccinations_std is not None:
            con.register("std_df", pd.DataFrame(vaccinations_std))
            con.execute("CREATE OR REPLACE TABLE vaccinations_std AS SELECT * FROM std_df")
        if truth is not None:
            con.register("truth_df", pd.DataFrame(truth))
            con.execute("CREATE OR REPLACE TABLE truth AS SELECT * FROM truth_df")
    finally:
        con.close()
    return path
