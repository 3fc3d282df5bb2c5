"""A synthetic province with ground truth: register, registry export, sites, tallies.

``generate`` writes a data folder per CONTRACT §1 plus the truth:

* ``population``, ``vaccinations``, ``sites``, ``tallies`` (``.csv`` or ``.parquet``)
* ``truth``: record_id, true_person_id (empty when the person is not in the
  register), true_person_key (extension: the simulation's person id, ``P…``,
  for everyone)
* ``truth_summary.json``: ``truth_summary(...)`` for the generated period
* hidden truth, always Parquet: ``truth_doses.parquet`` (every true dose event
  given up to period_end, entered or not, with its entry outcome),
  ``truth_records.parquet`` (record → dose event, retyped / new-profile flags,
  date shift), ``truth_profiles.parquet`` (the noise applied to each subject's
  fields) and ``truth_tallies.parquet`` (true and written tallies).

The simulation runs in calendar time from the campaign start (2021-03-08);
the period only cuts it: doses are given up to ``period_end`` and the export
is taken on ``extract_date`` (default ``period_end``; rows typed later are not
in it, the doses they hold are still being typed: ``late_entry_rate``). ``truth_summary``
is therefore valid for any period within the generated one.
Same arguments and seed → byte-identical files.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import numpy as np
import pandas as pd

from vaxstudy.synth.params import CampaignParams, SynthParams
from vaxstudy.synth.truth import truth_summary

__all__ = ["generate", "truth_summary", "SynthParams", "CampaignParams"]


def _write(df: pd.DataFrame, path_base: Path, fmt: str, dates=(), ints=()) -> Path:
    if fmt == "csv":
        path = path_base.with_suffix(".csv")
        df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    elif fmt == "parquet":
        path = path_base.with_suffix(".parquet")
        out = df.copy()
        for c in dates:
            out[c] = pd.to_datetime(out[c].replace("", None)).dt.date
        for c in ints:
            out[c] = out[c].astype("int64")
        out.to_parquet(path, index=False)
    else:
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    return path


def generate(out_dir, province: str = "40", scale: float = 0.01, seed: int = 1,
             period=("2021-03-08", "2021-10-31"), fmt: str = "csv",
             outsider_share: float | None = None, dose2_completion: float | None = None,
             campaign_params: CampaignParams | None = None, extract_date=None, **noise) -> Path:
    """Generate a synthetic province into ``out_dir``; returns the folder.

    ``extract_date``: the day the export is taken (default ``period_end``): rows entered
    later are absent. No dose is given after ``period_end`` in any case.
    ``noise`` holds any field of :class:`SynthParams` (unknown names raise);
    ``campaign_params`` the campaign (:class:`CampaignParams`, defaults calibrated to
    Nghệ An), of which ``outsider_share`` and ``dose2_completion`` may be given alone.
    """
    from vaxstudy.synth import campaign, entry, population

    params = SynthParams(**noise)
    cp = campaign_params or CampaignParams()
    over = {k: v for k, v in (("outsider_share", outsider_share), ("dose2_completion", dose2_completion)) if v is not None}
    if over:  # validated like the rest (a pydantic ValidationError is a ValueError)
        cp = CampaignParams(**{**cp.model_dump(), **over})
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    province = str(province).zfill(2)
    p_start, p_end = (pd.Timestamp(period[0]).date(), pd.Timestamp(period[1]).date())
    if p_end < p_start:
        raise ValueError("period end before period start")
    if p_end.isoformat() < "2021-03-08":
        raise ValueError("period ends before the campaign started (2021-03-08)")
    end_day = np.datetime64(p_end.isoformat(), "D")
    x_day = end_day if extract_date is None else np.datetime64(pd.Timestamp(extract_date).date().isoformat(), "D")
    if x_day < np.datetime64("2021-03-08", "D"):
        raise ValueError("extract date before the campaign started (2021-03-08)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # a folder regenerated in another format must not keep the old tables
    for t in ("population", "vaccinations", "sites", "tallies", "truth"):
        for ext in ("csv", "parquet", "xlsx"):
            (out / f"{t}.{ext}").unlink(missing_ok=True)
    ss = np.random.SeedSequence(int(seed))
    r_pop, r_out, r_vac, r_ovac, r_entry, r_rec, r_tal, r_shuf = (np.random.default_rng(s) for s in ss.spawn(8))

    residents = population.make_population(province, scale, r_pop)
    sites = campaign.make_sites(province)
    n_res = len(residents)
    residents.index = np.arange(n_res)
    # the register file, in random order (written now to free its copy early)
    reg = residents[["person_id", "full_name", "dob", "sex", "province_code", "district_code", "commune_code",
                     "register_phone"]].iloc[r_shuf.permutation(n_res)].reset_index(drop=True)
    dob_out = pd.Series(reg["dob"].to_numpy().astype("datetime64[D]").astype(str), dtype="str")
    if params.register_dob_missing > 0:  # entries without a date of birth, drawn on a stream of their own
        r_nodob = np.random.default_rng(ss.spawn(1)[0])
        dob_out = dob_out.mask(r_nodob.random(n_res) < params.register_dob_missing, "")
    pop_out = pd.DataFrame({
        "person_id": reg["person_id"], "full_name": reg["full_name"],
        "date_of_birth": dob_out,
        "sex": reg["sex"], "province_code": reg["province_code"], "district_code": reg["district_code"],
        "commune_code": reg["commune_code"], "phone": reg["register_phone"],
    })
    _write(pop_out, out / "population", fmt, dates=["date_of_birth"])
    del reg, pop_out, dob_out

    n_out = int(round(cp.outsider_share / (1 - cp.outsider_share) * (residents["age_ref"] >= 18).sum() * 0.93))
    outsiders = population.make_outsiders(n_out, province, r_out, residents["cccd"].to_numpy())
    outsiders.index = n_res + np.arange(n_out)
    persons = pd.concat([residents, outsiders])

    # outsiders are vaccinated where they live or work in the province
    work = outsiders.copy()
    work["district_code"], work["commune_code"] = campaign.outsider_sites(n_out, sites, residents, r_ovac)
    if params.outsider_local_address > 0:  # outsiders typing their local address, on a stream of their own
        local = np.random.default_rng(ss.spawn(1)[0]).random(n_out) < params.outsider_local_address
        idx = outsiders.index[local]
        persons.loc[idx, "province_code"] = province
        persons.loc[idx, ["district_code", "commune_code"]] = work.loc[idx, ["district_code", "commune_code"]].to_numpy()
    events = campaign.vaccinate(pd.concat([residents, work]), sites, end_day, r_vac, cp, n_register=n_res)
    events = events.sort_values(["day", "site_id", "person_key", "dose_number"], ignore_index=True)
    events["event_id"] = np.arange(1, len(events) + 1)

    export_day = int(x_day.astype(np.int64))
    n_adults = int((residents["age_ref"] >= 18).sum())
    events = entry.entry_times(events, sites["site_id"].to_numpy(), params, export_day, r_entry, n_adults)
    com = sites[sites["site_id"].str.startswith("TYT")]
    district_communes = {d: g.to_numpy() for d, g in com.groupby("district_code")["commune_code"]}
    vac, truth_rec, prof_flags = entry.build_records(persons, events, sites, params, export_day, district_communes, r_rec)

    # --- tallies: true doses per site, day and dose, a few counting errors
    tal = events.groupby(["site_id", "day", "dose_number"]).size().rename("doses_administered").reset_index()
    err = r_tal.random(len(tal)) < params.tally_error_rate
    delta = r_tal.integers(1, 4, size=len(tal)) * np.where(r_tal.random(len(tal)) < 0.5, -1, 1)
    tal["true_doses"] = tal["doses_administered"]
    tal["doses_administered"] = np.maximum(0, tal["doses_administered"] + np.where(err, delta, 0))
    tal["vaccination_date"] = tal["day"].to_numpy().astype("datetime64[D]").astype(str)

    # --- files
    keys = persons.index.to_numpy()
    pkey = pd.Series([f"P{k + 1:08d}" for k in keys], index=keys)
    _write(vac, out / "vaccinations", fmt, dates=["vaccination_date", "entered_date"], ints=["dose_number"])
    _write(sites, out / "sites", fmt)
    _write(tal[["site_id", "vaccination_date", "dose_number", "doses_administered"]], out / "tallies", fmt,
           dates=["vaccination_date"], ints=["dose_number", "doses_administered"])
    in_reg = persons["in_register"].to_numpy()
    pid = pd.Series(np.where(in_reg, persons["person_id"].to_numpy(), ""), index=keys)
    truth = pd.DataFrame({
        "record_id": truth_rec["record_id"].to_numpy(),
        "true_person_id": pid.reindex(truth_rec["person_key"].to_numpy()).to_numpy(),
        "true_person_key": pkey.reindex(truth_rec["person_key"].to_numpy()).to_numpy(),
    })
    _write(truth, out / "truth", fmt)

    n_rows = truth_rec.groupby("event_id").size()
    td = pd.DataFrame({
        "event_id": events["event_id"].to_numpy(),
        "true_person_key": pkey.reindex(events["person_key"].to_numpy()).to_numpy(),
        "true_person_id": pid.reindex(events["person_key"].to_numpy()).to_numpy(),
        "dose_number": events["dose_number"].to_numpy(),
        "vaccination_date": events["day"].to_numpy().astype("datetime64[D]").astype(str),
        "vaccine": events["vaccine"].to_numpy(), "site_id": events["site_id"].to_numpy(),
        "p_missing": events["p_missing"].to_numpy(), "never_entered": events["never_entered"].to_numpy(),
        "lag_days": events["lag_days"].to_numpy(), "exported": events["exported"].to_numpy(),
        "n_rows": n_rows.reindex(events["event_id"].to_numpy()).fillna(0).astype("int64").to_numpy(),
    })
    td.to_parquet(out / "truth_doses.parquet", index=False)
    tr = truth_rec.assign(true_person_key=pkey.reindex(truth_rec["person_key"].to_numpy()).to_numpy())
    tr.drop(columns=["person_key"]).to_parquet(out / "truth_records.parquet", index=False)
    prof_flags.to_parquet(out / "truth_profiles.parquet", index=False)
    tal[["site_id", "vaccination_date", "dose_number", "true_doses", "doses_administered"]].to_parquet(
        out / "truth_tallies.parquet", index=False)

    del persons, residents, outsiders, work, events, vac, truth_rec, prof_flags, tal, td, tr, truth
    gc.collect()
    summary = truth_summary(out, province, p_start.isoformat(), p_end.isoformat(), extract_date=str(x_day))
    summary["generator"] = {
        "province": province, "scale": scale, "seed": int(seed), "format": fmt,
        "params": params.model_dump(), "campaign": cp.model_dump(mode="json"),
    }
    (out / "truth_summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
