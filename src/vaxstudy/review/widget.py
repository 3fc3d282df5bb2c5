"""Judging review items one at a time in JupyterLab (notebooks/review.ipynb).

:class:`ReviewSession` reads the run's review.csv, shows one item (the two sides in a table,
differing fields highlighted), and writes each decision back into review.csv's ``decision``
column as soon as it is made, so `vaxstudy review score --labels review.csv` scores it like a
file filled in Excel. Keyboard: with the focus in the small key box, ``s`` same, ``d``
different, ``o`` someone else in the register, ``u`` unsure, ``b`` back, ``n`` next (ipywidgets
has no global key bindings).
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from vaxstudy.layout import locate_run
from vaxstudy.review.frame import review_dir
from vaxstudy.review.labels import DECISION_LABELS, DISPLAY_FIELDS, HEADERS, QUESTIONS

KEYS = {"s": "same", "d": "different", "o": "other", "u": "unsure"}


class ReviewSession:
    """The items of one review file and the reviewer's position in them."""

    def __init__(self, csv_path: str | Path, language: str = "vi") -> None:
        self.path = Path(csv_path)
        self.language = language
        self.items = pd.read_csv(self.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        undecided = (self.items["decision"] == "").to_numpy().nonzero()[0]
        self.pos = int(undecided[0]) if len(undecided) else 0
        self._ui = None

    @classmethod
    def from_run(cls, run_dir: str | Path, language: str = "vi") -> "ReviewSession":
        """The session on the run's review.csv (written by `vaxstudy review sample`)."""
        path = review_dir(locate_run(run_dir)) / "review.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: draw a sample first "
                                    f"(vaxstudy review sample --run {run_dir})")
        return cls(path, language)

    @property
    def n_decided(self) -> int:
        return int((self.items["decision"] != "").sum())

    def decide(self, decision: str, other_person_id: str = "") -> None:
        """Record ``decision`` (same/different/other/unsure; with ``other``, the right register
        person's ID if found) for the current item, save, move on."""
        if decision not in KEYS.values():
            raise ValueError(f"decision must be one of {sorted(KEYS.values())}, not {decision!r}")
        self.items.loc[self.items.index[self.pos], "decision"] = decision
        if other_person_id or "other_person_id" in self.items.columns:
            self.items.loc[self.items.index[self.pos], "other_person_id"] = other_person_id
        self.save()
        self.move(1)

    def move(self, step: int) -> None:
        self.pos = min(max(self.pos + step, 0), len(self.items) - 1)
        self._refresh()

    def save(self) -> Path:
        self.items.to_csv(self.path, index=False, encoding="utf-8-sig")
        return self.path

    def item_html(self, i: int | None = None) -> str:
        """The current item as an HTML table: field, registry row, compared with."""
        r = self.items.iloc[self.pos if i is None else i]
        lang = self.language
        rows = []
        for f in (*DISPLAY_FIELDS, "dose", "doses"):
            left, right = r.get(f"l_{f}", ""), r.get(f"r_{f}", "")
            differ = f in DISPLAY_FIELDS and left and right and left.strip().casefold() != right.strip().casefold()
            style = ' style="background:#FFE699"' if differ else ""
            label = HEADERS[f"l_{f}"][lang].rsplit(" (", 1)[0]
            rows.append(f"<tr><th>{html.escape(label)}</th><td{style}>{html.escape(left)}</td>"
                        f"<td{style}>{html.escape(right)}</td></tr>")
        if r.get("other_candidates"):
            rows.append(f"<tr><th>{html.escape(HEADERS['other_candidates'][lang])}</th>"
                        f"<td colspan=2>{html.escape(r['other_candidates'])}</td></tr>")
        head = (f"<p><b>{html.escape(r['review_id'])}</b> ({self.pos + 1}/{len(self.items)}) · "
                f"{html.escape(QUESTIONS[r['kind']][lang])}</p>")
        cur = r["decision"]
        now = f"<p>{html.escape(HEADERS['decision'][lang])}: <b>{html.escape(DECISION_LABELS[lang][cur]) if cur else '–'}</b></p>"
        side = ("sổ tiêm", "đối chiếu") if lang == "vi" else ("registry row", "compared with")
        return (head + f"<table><tr><th></th><th>{side[0]}</th><th>{side[1]}</th></tr>" + "".join(rows)
                + "</table>" + now)

    def _refresh(self) -> None:
        if self._ui is not None:
            self._ui["item"].value = self.item_html()
            self._ui["progress"].value = f"{self.n_decided}/{len(self.items)}"

    def show(self):
        """The widget: the item, three decision buttons, back/next, the key box."""
        import ipywidgets as w

        lang = self.language
        item, progress = w.HTML(self.item_html()), w.Label(f"{self.n_decided}/{len(self.items)}")
        buttons = []
        for key, d in KEYS.items():
            b = w.Button(description=f"{DECISION_LABELS[lang][d]} ({key})")
            b.on_click(lambda _b, d=d: self.decide(d))
            buttons.append(b)
        back, nxt = w.Button(description="← (b)"), w.Button(description="→ (n)")
        back.on_click(lambda _b: self.move(-1))
        nxt.on_click(lambda _b: self.move(1))
        keybox = w.Text(placeholder="s / d / o / u / b / n", layout=w.Layout(width="12em"))

        def on_key(change):
            k = (change["new"] or "")[-1:].lower()
            if not k:
                return
            keybox.value = ""
            if k in KEYS:
                self.decide(KEYS[k])
            elif k in ("b", "n"):
                self.move(-1 if k == "b" else 1)

        keybox.observe(on_key, names="value")
        self._ui = {"item": item, "progress": progress}
        return w.VBox([item, w.HBox(buttons), w.HBox([back, nxt, keybox, progress])])
