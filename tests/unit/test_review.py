"""The review loop on a hand-made tiny run: sample → fill in Excel → score, and every malformed return."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from vaxstudy.review import decisions as D
from vaxstudy.review.frame import Scope
from vaxstudy.review.labels import DECISION_LABELS
from vaxstudy.review.oracle import oracle_decisions, true_accuracy
from vaxstudy.review.returned import ReviewFileError
from vaxstudy.review.sample import allocate, sample_run
from vaxstudy.review.score import estimate, score_run

RUN = "40_2021-03-08_2021-10-31"
GIVEN = ["an", "binh", "chi", "dung", "hoa", "hung", "lan", "mai", "nam", "tuan"]


def _make_run(root: Path, seed: int = 0) -> Path:
    """A run with 80 register persons and 150 rows: links in every band (some wrong), unlinked
    rows with and without candidates, duplicate profiles and duplicate doses; truth included."""
    rng = np.random.default_rng(seed)
    npers = 80
    pid = [f"0400{i:08d}" for i in range(npers)]
    given = [GIVEN[i % 10] for i in range(npers)]
    by = [1950 + i % 40 for i in range(npers)]
    pop = pd.DataFrame({"person_id": pid, "full_name": [f"Nguyễn Văn {g.title()}" for g in given],
                        "date_of_birth": pd.to_datetime([f"{y}-01-15" for y in by]).date, "sex": "M",
                        "commune_code": [f"{17000 + i % 5}" for i in range(npers)],
                        "phone": [f"09{i:08d}" for i in range(npers)]})
    rows = []
    for r in range(150):
        true = r % 90  # 0..79 register persons, 80..89 outside the register
        rows.append({"record_id": f"R{r:05d}", "true": true, "dose": 1 + (r // 90), "_row": r + 1})
    v = pd.DataFrame(rows)
    v["subject_id"] = "S" + v["true"].astype(str)
    v.loc[v.index % 13 == 5, "subject_id"] = "S" + v["true"].astype(str) + "b"  # second profiles
    v.loc[v.index % 17 == 3, "dose"] = 1  # a repeated dose 1 for some persons
    v["true_person_id"] = [pid[t] if t < npers else None for t in v["true"]]
    # the link stage's answer: mostly right, a few wrong links, a few missed
    person = v["true_person_id"].copy()
    # wrong links: people outside the register linked to a resident (the recall estimator's
    # assumption, docs/review.md)
    wrong = (v.index % 2 == 0) & (v["true"] >= npers).to_numpy()
    person[wrong] = [pid[t % npers] for t in v.loc[wrong, "true"]]
    missed = (v.index % 19 == 4) & person.notna().to_numpy()
    person[missed] = None
    bands = np.array([0.999999, 0.9995, 0.995, 0.95])
    mp = np.where(person.notna(), bands[v.index % 4], np.nan)
    mp[wrong] = 0.95
    best = np.where(missed, v["true_person_id"], None)
    bmp = np.where(missed, rng.uniform(0.05, 0.8, len(v)), np.nan)
    key = person.where(person.notna(), "U" + v["true"].astype(str))
    rl = pd.DataFrame({"record_id": v["record_id"], "person_id": person, "match_probability": mp,
                       "person_key": key, "best_person_id": best, "best_match_probability": bmp,
                       "in_register_probability": bmp})
    rl["is_duplicate_dose"] = rl.assign(d=v["dose"]).groupby(["person_key", "d"]).cumcount() > 0
    t = v["true"].to_numpy()
    vax = pd.DataFrame({
        "record_id": v["record_id"], "subject_id": v["subject_id"],
        "full_name": [f"Nguyen Van {given[x % npers].title()}" for x in t],
        "date_of_birth": [f"15/01/{by[x % npers]}" for x in t], "sex": "Nam",
        "id_number": [pid[x] if x < npers and x % 3 else "" for x in t], "phone": "",
        "commune_code": [f"{17000 + x % 5}" for x in t],
        "vaccination_date": pd.Timestamp("2021-06-01") + pd.to_timedelta(v["dose"] * 30, unit="D"),
        "dose_number": v["dose"], "site_id": "TYT17000", "_row": v["_row"],
        "province_code": "40", "district_code": "412", "vaccine": "AstraZeneca", "entered_date": None})
    # what the estimate's loader reads besides (its duplicates are the review's dup items)
    tallies = pd.DataFrame({"site_id": ["TYT17000"], "vaccination_date": [pd.Timestamp("2021-07-01")],
                            "dose_number": [1], "doses_administered": [100]})
    std = lambda d, idc: pd.DataFrame({  # noqa: E731
        "unique_id": d[idc], "name_norm": d["full_name"].str.lower(),
        "name_ascii": d["full_name"].str.lower().str.replace("ễ", "e").str.replace("ă", "a"),
        "given_name_ascii": d["full_name"].str.split().str[-1].str.lower(),
        "surname_ascii": "nguyen",
        "birth_year": [int(str(x)[-4:]) if len(str(x)) > 4 and str(x)[-4:].isdigit() else int(str(x)[:4])
                       for x in d["date_of_birth"]],
        "dob": pd.NaT, "sex": "M", "id_number": d.get("id_number", d[idc]),
        "phone": d["phone"], "commune_code": d["commune_code"], "province_code": "40",
        "district_code": "412"})
    truth = pd.DataFrame({"record_id": v["record_id"], "true_person_id": v["true_person_id"],
                          "true_person_key": "P" + v["true"].astype(str)})
    out = root / "out"
    work = out / "restricted" / "work"
    (work / "40_link").mkdir(parents=True)
    con = duckdb.connect(str(work / "40.duckdb"))
    for name, df in {"population": pop, "vaccinations": vax, "record_links": rl, "truth": truth, "tallies": tallies,
                     "population_std": std(pop, "person_id"), "vaccinations_std": std(vax, "record_id")}.items():
        con.register("df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM df")
        con.unregister("df")
    con.close()
    (work / "40_link" / "link_summary.json").write_text(json.dumps({"decision": {"threshold": 0.9}}))
    (out / RUN).mkdir()
    return out / RUN


@pytest.fixture()
def run(tmp_path) -> Path:
    return _make_run(tmp_path)


def _db(run: Path) -> Path:
    return run.parent / "restricted" / "work" / "40.duckdb"


def _fill_xlsx(path: Path, db: Path, language: str = "vi", edit=None) -> None:
    """Fill the decision column as the oracle would, with the drop-down's labels."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb["review"]
    head = [c.value for c in ws[1]]
    col = {h: j + 1 for j, h in enumerate(head)}
    keys = ["Mã mục", "kind", "record_id", "candidate_id"] if language == "vi" else \
        ["Item", "kind", "record_id", "candidate_id"]
    items = pd.DataFrame([[ws.cell(i, col[k]).value for k in keys] for i in range(2, ws.max_row + 1)],
                         columns=["review_id", "kind", "record_id", "candidate_id"])
    dec = oracle_decisions(db, items.fillna(""))
    label = DECISION_LABELS[language]
    dcol = col["Quyết định" if language == "vi" else "Decision"]
    for i, d in enumerate(dec, start=2):
        ws.cell(i, dcol).value = label[d]
    if edit:
        edit(ws, col)
    wb.save(path)


def test_allocate_caps_minimums_and_total():
    n = allocate(np.array([1000, 10, 3, 0]), np.array([1.0, 50.0, 1.0, 1.0]), 40, np.array([5, 5, 5, 0]))
    assert n.sum() == 40 and n[2] == 3 and n[1] == 10 and n[3] == 0
    assert allocate(np.array([2, 3]), np.array([1.0, 1.0]), 100).tolist() == [2, 3]


def test_estimate_census_and_zero_error_strata():
    design = {"strata": [{"kind": "link", "stratum": "a", "N": 10, "n": 10, "model_p_mean": 0.9},
                         {"kind": "link", "stratum": "b", "N": 1000, "n": 50, "model_p_mean": 1.0}],
              "items": [], "certain": []}
    valid = pd.DataFrame({"review_id": [f"r{i}" for i in range(60)], "kind": "link",
                          "stratum": ["a"] * 10 + ["b"] * 50,
                          "decision": ["same"] * 8 + ["different"] * 2 + ["same"] * 50})
    s = estimate(design, valid)
    assert s["link_precision_est"] == pytest.approx((8 + 1000) / 1010, abs=1e-6)
    lo, hi = s["link_precision_est_ci"]
    # no error seen in b: the interval still allows some (not a zero-width interval)
    assert lo < 0.99 and hi == pytest.approx(8 / 10 * 10 / 1010 + 1000 / 1010, abs=1e-6)


def test_round_trip_xlsx(run):
    paths = sample_run(run, n=60, seed=1)
    restricted = run.parent / "restricted" / RUN / "review"
    assert paths["xlsx"].parent == restricted and (restricted / "README.md").exists()
    from openpyxl import load_workbook

    wb = load_workbook(paths["xlsx"])
    ws = wb["review"]
    assert ws.freeze_panes == "C2" and ws.data_validations.dataValidation
    assert '"Cùng một người,Khác người,Người khác trong CSDL,Không chắc chắn"' in ws.data_validations.dataValidation[0].formula1
    assert any(c.fill.start_color.rgb.endswith("FFE699") for row in ws.iter_rows(min_row=2) for c in row)
    csv = pd.read_csv(paths["csv"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert {"review_id", "kind", "record_id", "candidate_id", "stratum", "inclusion_prob",
            "decision"} <= set(csv.columns)
    assert set(csv["kind"]) == {"link", "unlinked", "dup_subject", "dup_dose"}
    _fill_xlsx(paths["xlsx"], _db(run))
    summary, out = score_run(run, paths["xlsx"])
    truth = true_accuracy(_db(run), Scope("40", "2021-03-08", "2021-10-31"))
    assert summary["n_reviewed"] == len(csv) and summary["n_skipped"] == 0
    for k in ("link_precision", "link_recall", "dup_subject_precision", "dup_dose_precision"):
        lo, hi = summary[f"{k}_est_ci"]
        assert lo <= truth[k] <= hi, (k, truth[k], lo, hi)
    assert summary["link_precision_est"] < 1  # the wrong links were found
    assert json.loads(out.read_text())["n_reviewed"] == len(csv)
    con = duckdb.connect(str(_db(run)), read_only=True)
    assert con.execute("SELECT count(*) FROM review_decisions").fetchall()[0][0] == len(csv)
    con.close()
    # a second sample never re-draws a decided item; they come back as certainty units
    p2 = sample_run(run, n=60, seed=3, language="en")
    d2 = json.loads(p2["design"].read_text())
    first = set(zip(csv["record_id"], csv["candidate_id"]))
    assert not first & {(i["record_id"], i["candidate_id"]) for i in d2["items"]}
    units = (csv["kind"] != "unlinked").sum() + csv.loc[csv["kind"] == "unlinked", "record_id"].nunique()
    assert len(d2["certain"]) == units


def _bad_returns(ws, col):
    """One fault of each kind, rows 2-5; row 7 deleted; a row added at the end."""
    ws.cell(2, col["record_id"]).value = "R99999"
    ws.cell(3, col["Quyết định"]).value = None
    ws.cell(4, col["Quyết định"]).value = "có lẽ"
    ws.cell(5, col["candidate_id"]).value = "000000000000"
    last = ws.max_row
    ws.append([ws.cell(last, j).value for j in range(1, ws.max_column + 1)])
    ws.cell(last + 1, col["Mã mục"]).value = "R9999"
    ws.delete_rows(7)


def test_other_person_in_the_register_counts_as_a_missed_link():
    """An unlinked row whose person is none of its candidates but is in the register: invisible
    before (all items 'different'), a missed link with 'other'."""
    design = {"strata": [{"kind": "link", "stratum": "a", "N": 100, "n": 100, "model_p_mean": 1.0},
                         {"kind": "unlinked", "stratum": "u", "N": 20, "n": 20, "model_p_mean": 0.1}],
              "items": [], "certain": []}
    links = pd.DataFrame({"kind": "link", "stratum": "a", "record_id": [f"l{i}" for i in range(100)],
                          "decision": "same"})

    def unl(last):  # 20 rows, 2 items each; rows 0-4 have their person among no candidate
        rows = [(f"u{i}", d) for i in range(20) for d in ("different", last if i < 5 else "different")]
        return pd.DataFrame({"kind": "unlinked", "stratum": "u", "record_id": [r for r, _ in rows],
                             "decision": [d for _, d in rows]})

    before = estimate(design, pd.concat([links, unl("different")], ignore_index=True))
    after = estimate(design, pd.concat([links, unl("other")], ignore_index=True))
    assert before["link_recall_est"] == 1.0
    assert after["link_recall_est"] == pytest.approx(100 / 105, abs=1e-6)
    assert after["missed_links_est"] == 5


def test_other_and_found_person_are_checked_and_kept(run):
    paths = sample_run(run, n=40, seed=6)
    csv = pd.read_csv(paths["csv"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    csv["decision"] = "different"
    unl = csv.index[csv["kind"] == "unlinked"][:2]
    dsub = csv.index[csv["kind"] == "dup_subject"][0]
    link = csv.index[csv["kind"] == "link"][:2]
    csv.loc[unl[0], ["decision", "other_person_id"]] = ["Người khác trong CSDL", "040000000007"]
    csv.loc[unl[1], ["decision", "other_person_id"]] = ["other", "999"]  # not a register person
    csv.loc[dsub, "decision"] = "other"  # 'other' answers record → person items only
    csv.loc[link[0], ["decision", "other_person_id"]] = ["same", "040000000001"]  # an ID without 'other'
    csv.loc[link[1], "decision"] = "other"
    csv.to_csv(paths["csv"], index=False)
    summary, _ = score_run(run, paths["csv"])
    skipped = {s["row"]: s for s in summary["skipped"]}
    assert set(skipped) == {unl[1] + 2, dsub + 2, link[0] + 2}
    assert "not a person of the register" in skipped[unl[1] + 2]["reason"]
    assert "only registry row" in skipped[dsub + 2]["reason"]
    assert "choose 'other'" in skipped[link[0] + 2]["reason"]
    con = duckdb.connect(str(_db(run)), read_only=True)
    kept = con.execute("SELECT kind, record_id, candidate_id, decision FROM review_decisions").df()
    con.close()
    rec = csv.loc[unl[0], "record_id"]
    mine = kept[kept["record_id"] == rec]
    assert set(zip(mine["candidate_id"], mine["decision"])) >= {(csv.loc[unl[0], "candidate_id"], "other"),
                                                                ("040000000007", "same")}
    assert (kept.loc[kept["record_id"] == csv.loc[link[1], "record_id"], "decision"] == "other").all()


def test_malformed_return_skips_rows_and_keeps_the_rest(run):
    paths = sample_run(run, n=40, seed=5)
    _fill_xlsx(paths["xlsx"], _db(run), edit=_bad_returns)
    summary, _ = score_run(run, paths["xlsx"])
    got = {(s["row"], s["column"]) for s in summary["skipped"]}
    n_rows = len(json.loads(paths["design"].read_text())["items"])
    assert got == {(2, "record_id"), (3, "decision"), (4, "decision"), (5, "candidate_id"),
                   (n_rows + 1, "review_id")}, summary["skipped"]
    reasons = " ".join(s["reason"] for s in summary["skipped"])
    assert "edited key" in reasons and "missing decision" in reasons and "unknown decision" in reasons
    assert "row added" in reasons
    assert summary["not_returned"] == ["R0006"]
    assert summary["n_reviewed"] == n_rows - 5  # 4 faulty rows and 1 deleted: the rest scored


def test_file_from_another_run_and_missing_column_are_refused(run, tmp_path):
    paths = sample_run(run, n=30, seed=1)
    csv = pd.read_csv(paths["csv"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    csv["decision"] = "same"
    other = csv.assign(run_fingerprint="0123456789abcdef")
    f = paths["csv"].parent / "other.csv"
    other.to_csv(f, index=False)
    with pytest.raises(ReviewFileError, match="another run.*row 2, column run_fingerprint"):
        score_run(run, f)
    csv.drop(columns=["candidate_id"]).to_csv(f, index=False)
    with pytest.raises(ReviewFileError, match="'candidate_id' is missing"):
        score_run(run, f)
    # the run linked again since the sample was drawn: the design is refused
    con = duckdb.connect(str(_db(run)))
    con.execute("UPDATE record_links SET match_probability = 0.93 WHERE record_id = 'R00000'")
    con.close()
    csv.to_csv(f, index=False)
    with pytest.raises(ReviewFileError, match="linked again"):
        score_run(run, f)


def test_out_inside_the_shareable_folder_is_refused(run):
    with pytest.raises(ValueError, match="shareable"):
        sample_run(run, n=10, out=run / "review")


def test_cli_sample_and_score(run):
    from typer.testing import CliRunner

    from vaxstudy.cli import app

    r = CliRunner().invoke(app, ["review", "sample", "--run", str(run), "--n", "20", "--language", "en"])
    assert r.exit_code == 0, r.output
    csv_path = run.parent / "restricted" / RUN / "review" / "review.csv"
    csv = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    csv["decision"] = oracle_decisions(_db(run), csv).map(DECISION_LABELS["en"]).to_numpy()
    csv.loc[0, "decision"] = "unsure"
    csv.to_csv(csv_path, index=False)
    r = CliRunner().invoke(app, ["review", "score", "--run", str(run), "--labels", str(csv_path)])
    assert r.exit_code == 0, r.output
    assert "link_recall_est" in r.output
    s = json.loads((csv_path.parent / "review_summary.json").read_text())
    assert s["n_unsure"] == 1 and s["n_reviewed"] == len(csv)


@pytest.mark.parametrize("not_p1", ["different", "other"])
def test_apply_review_decisions_overrides_links(tmp_path, not_p1):
    db = tmp_path / "p.duckdb"
    duckdb.connect(str(db)).close()
    D.save_decisions(db, pd.DataFrame({
        "kind": ["link", "unlinked", "link"], "record_id": ["r1", "r3", "r4"],
        "candidate_id": ["P1", "P9", "P4"], "decision": [not_p1, "same", "unsure"],
        "review_id": ["a", "b", "c"]}), "fp")
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE review_decisions")  # a rebuilt database: the copy beside it restores them
    con.close()
    con = duckdb.connect()
    con.execute(f"ATTACH '{db.as_posix()}' AS proj")
    con.execute("CREATE TABLE link_rows AS SELECT * FROM (VALUES ('r1','i1'),('r2','i1'),('r3','i3'),"
                "('r4','i4')) t(record_id, ident)")
    con.execute("CREATE TABLE ident_link AS SELECT * FROM (VALUES ('i1','P1',0.99),('i4','P4',0.97),"
                "('i3','P7',0.95)) t(ident, person_id, match_probability)")
    assert D.apply_review_decisions(con).summary["identities_changed"] == 2
    got = dict(con.execute("SELECT ident, person_id || ':' || match_probability FROM ident_link").fetchall())
    assert got == {"i3": "P9:1.0", "i4": "P4:0.97"}
    con.close()


SUMMARY = {"n_reviewed": 400, "n_unsure": 3, "link_precision_est": 0.99, "link_precision_est_ci": [0.98, 1.0],
           "link_recall_est": 0.95, "link_recall_est_ci": [0.9, 0.99],
           "dup_subject_precision_est": 1.0, "dup_subject_precision_est_ci": [0.95, 1.0],
           "dup_dose_precision_est": 0.9, "dup_dose_precision_est_ci": [0.8, 0.96]}


def test_review_summary_adjusts_unlinked_rate_in_metrics(tmp_path):
    import jsonschema

    from vaxstudy.config import SCHEMAS_DIR
    from vaxstudy.review.adjust import add_review

    from vaxstudy.review.summaries import save_summary

    db = tmp_path / "40.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE ingest_log AS SELECT 'vaccinations.csv' source_file, 'abc' sha256")
    con.close()
    m = {"province_code": "40", "period_start": "2021-03-08", "period_end": "2021-10-31",
         "unlinked_record_rate": 0.1, "unlinked_record_rate_ci": [0.09, 0.11], "notes": []}
    assert add_review(m, db) == m  # no review scored: metrics unchanged
    save_summary(db, SUMMARY, RUN, tmp_path / "anywhere" / "review_summary.json")
    rv = add_review(m, db)["review"]
    assert rv["unlinked_record_rate_review_adjusted"] == pytest.approx(1 - 0.9 * 0.99 / 0.95, abs=1e-6)
    lo, hi = rv["unlinked_record_rate_review_adjusted_ci"]
    assert lo == pytest.approx(1 - 0.91 * 1.0 / 0.9, abs=1e-6) or lo == 0.0
    assert hi == pytest.approx(1 - 0.89 * 0.98 / 0.99, abs=1e-6)
    assert lo <= rv["unlinked_record_rate_review_adjusted"] <= hi
    schema = json.loads((SCHEMAS_DIR / "metrics.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(rv, schema["properties"]["review"])
    # another period's run: not used, and said
    other = add_review({**m, "period_end": "2021-12-31"}, db)
    assert "review" not in other and "none for run 40_2021-03-08_2021-12-31" in other["notes"][0]
    # the database rebuilt from another export (copy beside it restores the record): not used
    db.unlink()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE ingest_log AS SELECT 'vaccinations.csv' source_file, 'def' sha256")
    con.close()
    changed = add_review(m, db)
    assert "review" not in changed and "scored on another export" in changed["notes"][0]


def test_summary_written_elsewhere_reaches_the_estimate(run, tmp_path):
    from vaxstudy.review.adjust import add_review

    paths = sample_run(run, n=30, seed=2, out=tmp_path / "elsewhere")
    _fill_xlsx(paths["xlsx"], _db(run))
    summary, out = score_run(run, paths["xlsx"])
    assert out.parent == tmp_path / "elsewhere"
    m = {"province_code": "40", "period_start": "2021-03-08", "period_end": "2021-10-31",
         "unlinked_record_rate": 0.1, "unlinked_record_rate_ci": [0.09, 0.11]}
    rv = add_review(m, _db(run))["review"]
    assert rv["n_reviewed"] == summary["n_reviewed"] and rv["link_recall_est"] == summary["link_recall_est"]


def test_report_shows_review_figures_in_linkage_and_methods(tmp_path):
    from vaxstudy.report.sections import Report

    (tmp_path / "metrics.json").write_text(json.dumps({"review": {**SUMMARY, "unlinked_record_rate_review_adjusted": 0.06,
                                                                  "unlinked_record_rate_review_adjusted_ci": [0.01, 0.1]}}))
    for lang, words in (("vi", "rà soát thủ công 400 mục"), ("en", "review of 400 items")):
        rep = Report(run_dir=tmp_path, language=lang)
        html = "".join(getattr(b, "data", "") or "" for b in rep._review() + rep.methods())
        assert words in html and ("99,00%" if lang == "vi" else "99.00%") in html
    (tmp_path / "metrics.json").write_text(json.dumps({}))
    assert Report(run_dir=tmp_path)._review() == []


def test_methods_say_the_review_caps_the_missed_residents_only_when_it_did(tmp_path):
    from vaxstudy.report.sections import Report

    def methods(lang, cap):
        m = {"review": SUMMARY, "method": {"missed_links": {"review_cap": cap}}}
        (tmp_path / "metrics.json").write_text(json.dumps(m))
        return "".join(getattr(b, "data", "") or "" for b in Report(run_dir=tmp_path, language=lang).methods())

    assert "at most 1,234 persons" in methods("en", 1234.6)
    assert "tối đa 1.234 người" in methods("vi", 1234.6)
    assert "at most" not in methods("en", None) and "tối đa" not in methods("vi", None)


def test_notebook_session_writes_decisions_that_score_reads(run):
    from vaxstudy.review.widget import ReviewSession

    sample_run(run, n=12, seed=4)
    s = ReviewSession.from_run(run, language="en")
    ui = s.show()  # the widget builds; its key box drives the same calls as the buttons
    keybox = ui.children[-1].children[2]
    keybox.value = "s"
    s.decide("different")
    s.move(-2)
    assert s.pos == 0 and "Is the registry row the same person" in s.item_html()
    again = ReviewSession(s.path)
    assert list(again.items["decision"][:2]) == ["same", "different"] and again.pos == 2
    summary, _ = score_run(run, s.path)
    assert summary["n_reviewed"] == 2 and summary["n_skipped"] == len(s.items) - 2  # the rest: no decision


def test_threshold_from_link_run_else_link_summary(run):
    from vaxstudy.link.run import new_link_run, write_link_run
    from vaxstudy.layout import locate_run
    from vaxstudy.review.frame import link_threshold

    files = locate_run(run)
    assert link_threshold(files) == 0.9  # no link_run table: link_summary.json
    con = duckdb.connect(str(_db(run)))
    write_link_run(con, new_link_run(threshold=0.97, prior=1e-5, model={}, engine="duckdb", options={}))
    con.close()
    assert link_threshold(files) == 0.97


def test_link_stage_follows_review_decisions(tmp_path):
    """The one call in link_db: a 'different' removes the model's link, a 'same' makes one; a
    'different' on a duplicate-profile pair separates the profiles, on a duplicate-dose pair
    clears the flag (both ignored before: the pairs below fail without the overrides)."""
    from helpers.linkfake import make_std_db
    from vaxstudy.link import link_db
    from vaxstudy.options import LinkOptions

    db = tmp_path / "fake.duckdb"
    make_std_db(db, n_persons=150, seed=3)
    link_db(db, tmp_path / "a", LinkOptions(seed=1, diagnostics=False, wide=False, u_max_pairs=5e4, em_max_pairs=3e4))
    con = duckdb.connect(str(db), read_only=True)
    linked = con.execute("SELECT record_id, person_id FROM record_links WHERE person_id IS NOT NULL "
                         "ORDER BY record_id LIMIT 1").fetchall()[0]
    other = con.execute("SELECT CAST(unique_id AS VARCHAR) FROM population_std WHERE unique_id <> ? "
                        "ORDER BY unique_id LIMIT 1", [linked[1]]).fetchall()[0][0]
    unl = con.execute("SELECT record_id FROM record_links WHERE person_id IS NULL LIMIT 1").fetchall()
    rows = con.execute("SELECT l.record_id, l.person_key, l.is_duplicate_dose, v.subject_id, v._row, v.dose_number "
                       "FROM record_links l JOIN vaccinations_std v USING (record_id)").df()
    con.close()
    target = unl[0][0] if unl else linked[0]
    taken = {linked[0], target}
    # a person with two profiles: (first row of the later profile, the first profile)
    first = rows.sort_values("_row").drop_duplicates("subject_id")
    first = first[~first["person_key"].isin(rows.loc[rows["record_id"].isin(taken), "person_key"])]
    multi = first[first.duplicated("person_key", keep=False)].sort_values(["person_key", "_row"])
    key = multi["person_key"].iloc[0]
    prof = multi[multi["person_key"] == key]
    later_rec, first_subj = prof["record_id"].iloc[1], prof["subject_id"].iloc[0]
    # a flagged duplicate dose of another person, and the row it repeats
    flagged = rows[rows["is_duplicate_dose"] & (rows["person_key"] != key)].iloc[0]
    orig = rows[(rows["person_key"] == flagged["person_key"]) & (rows["dose_number"] == flagged["dose_number"])
                & (rows["_row"] < flagged["_row"])]
    assert len(orig) == 1  # so that 'different' leaves no earlier row of that dose
    D.save_decisions(db, pd.DataFrame({
        "kind": ["link", "unlinked", "dup_subject", "dup_dose"],
        "record_id": [linked[0], target, later_rec, flagged["record_id"]],
        "candidate_id": [linked[1], other, first_subj, orig["record_id"].iloc[0]],
        "decision": ["different", "same", "different", "different"],
        "review_id": ["R1", "R2", "R3", "R4"]}), "fp")
    link_db(db, tmp_path / "b", LinkOptions(model_path=tmp_path / "a" / "link_model.json", diagnostics=False, wide=False))
    con = duckdb.connect(str(db), read_only=True)
    got = dict(con.execute("SELECT record_id, coalesce(person_id, '') || ':' || coalesce(match_probability, 0) "
                           "FROM record_links WHERE record_id IN (?, ?)", [linked[0], target]).fetchall())
    after = con.execute("SELECT l.record_id, l.person_key, l.is_duplicate_dose, v.subject_id "
                        "FROM record_links l JOIN vaccinations_std v USING (record_id)").df()
    con.close()
    assert got[target] == f"{other}:1.0"
    assert not got[linked[0]].startswith(linked[1])
    keys = after.groupby("subject_id")["person_key"].agg(set)
    assert not keys[prof["subject_id"].iloc[1]] & keys[first_subj]  # the two profiles are apart
    assert not after.set_index("record_id").at[flagged["record_id"], "is_duplicate_dose"]
    rv = json.loads((tmp_path / "b" / "link_summary.json").read_text())["review_decisions"]
    assert rv["identities_changed"] >= 3 and rv["pairs"]["applied"] == 2



def test_a_scored_review_caps_the_residents_the_linkage_missed(tmp_path):
    """Without a review, recorded coverage's upper end counts every unlinked local person as a
    resident the linkage missed; a review whose missed-link estimate reaches at most c rows
    caps that count at c in every group (estimate/missed.py), and the point does not move."""
    from helpers.estimatedb import make_db
    from vaxstudy.estimate import estimate_db
    from vaxstudy.review.summaries import save_summary

    sites = [dict(site_id="S1", site_name="a", province_code="40", district_code="412", commune_code="17000")]
    # 20 residents, 8 linked with a dose; 6 unlinked rows typed with a local address (6 persons)
    v = [dict(record_id=f"r{i}", subject_id=f"s{i}", person=f"P{i}" if i < 8 else None,
              vaccination_date="2021-08-02", entered_date="2021-08-03", site_id="S1") for i in range(14)]
    tal = [dict(site_id="S1", vaccination_date="2021-08-02", dose_number=1, doses_administered=14)]
    std = [dict(record_id=x["record_id"], province_code="40", district_code="412", sex="M",
                dob=date(1980, 1, 1), birth_year=1980, dob_precision="day") for x in v]
    db = make_db(tmp_path / "40.duckdb", [dict(person_id=f"P{i}") for i in range(20)], v, sites, tal,
                 vaccinations_std=std)
    args = (db, "40", "2021-08-01", "2021-08-31")
    m0 = estimate_db(*args, tmp_path / "before", n_boot=50, audit=False)
    assert m0["method"]["missed_links"]["review_cap"] is None
    assert m0["method"]["missed_links"]["possible_persons_dose1"] == 6
    assert m0["coverage_dose1_recorded"] == pytest.approx(8 / 20)
    assert m0["coverage_dose1_recorded_ci"][1] == pytest.approx(14 / 20)

    summary = {**SUMMARY, "missed_links_est": 1.0, "missed_links_est_ci": [0.0, 2.0]}
    save_summary(db, summary, "40_2021-08-01_2021-08-31", tmp_path / "review_summary.json")
    m1 = estimate_db(*args, tmp_path / "after", n_boot=50, audit=False)
    assert m1["method"]["missed_links"]["review_cap"] == 2.0
    assert m1["review"]["n_reviewed"] == SUMMARY["n_reviewed"]
    assert m1["coverage_dose1_recorded"] == m0["coverage_dose1_recorded"]
    assert m1["coverage_dose1_recorded_ci"][1] == pytest.approx(10 / 20)
    for fam in ("by_district", "by_sex", "by_age_group"):
        for g, blk in m1[fam].items():
            if blk.get("coverage_dose1_recorded_ci"):
                hi0 = m0[fam][g]["coverage_dose1_recorded_ci"][1]
                assert blk["coverage_dose1_recorded_ci"][1] <= hi0, (fam, g)
