"""Where, how and why deals are lost: several lost terminals, loss reasons, managers against the rest of the team."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DEMO_FUNNEL

from salesaudit import load
from salesaudit.analysis import losses
from salesaudit.analysis.losses import manager_tests, normalise_reasons
from salesaudit.data.params import FunnelSettings

#: a funnel with two lost terminals: declined by us, cancelled by the client
TWO_LOST = {
    "stages": [
        {"key": "new", "label": {"ru": "Новая", "en": "New"}},
        {"key": "proposal", "label": {"ru": "КП", "en": "Proposal"}},
        {"key": "invoice", "label": {"ru": "Счёт", "en": "Invoice"}},
        {"key": "won", "label": {"ru": "Успех", "en": "Won"}, "terminal": "won"},
        {"key": "declined", "label": {"ru": "Отказали мы", "en": "Declined by us"}, "terminal": "lost"},
        {"key": "cancelled", "label": {"ru": "Отказ клиента", "en": "Cancelled by the client"}, "terminal": "lost"},
    ]
}

#: the demo funnel as it was before #13: one lost terminal (the demo's own funnel now has two)
ONE_LOST = yaml.safe_load(DEMO_FUNNEL.read_text(encoding="utf-8"))
ONE_LOST["stages"] = [s for s in ONE_LOST["stages"] if s["key"] != "cancelled"]

DEALS = """deal_id,created_at,manager,amount,stage,closed_at,lost_reason
L1,2026-01-05 10:00:00,m1,100,declined,2026-01-09 10:00:00,Дорого
L2,2026-01-05 10:00:00,m1,200,cancelled,2026-01-07 10:00:00, дорого
L3,2026-01-05 10:00:00,m2,300,cancelled,,Выбрали конкурента
L4,2026-01-05 10:00:00,m2,400,declined,2026-01-06 10:00:00,
L5,2026-01-05 10:00:00,m2,500,cancelled,2026-01-20 10:00:00,Выбрали  конкурента
L6,2026-01-05 10:00:00,m1,600,cancelled,,Нет бюджета
L7,2026-01-05 10:00:00,,700,declined,2026-01-06 10:00:00,Спам
L8,2026-01-05 10:00:00,h1,800,cancelled,2026-01-06 10:00:00,Дорого
W1,2026-01-05 10:00:00,m1,900,won,2026-01-15 10:00:00,
O1,2026-01-05 10:00:00,m2,1000,new,,
"""
HISTORY = """deal_id,stage,entered_at
L1,new,2026-01-05 10:00:00
L1,proposal,2026-01-07 10:00:00
L1,declined,2026-01-09 10:00:00
L2,new,2026-01-05 10:00:00
L2,cancelled,2026-01-07 10:00:00
L3,new,2026-01-05 10:00:00
L3,proposal,2026-01-06 10:00:00
L3,invoice,2026-01-08 10:00:00
L3,cancelled,2026-01-12 10:00:00
L4,new,2026-01-05 10:00:00
L4,declined,2026-01-06 10:00:00
L6,new,2026-01-05 10:00:00
L6,proposal,2026-01-06 10:00:00
L6,cancelled,2026-01-07 10:00:00
L6,proposal,2026-01-08 10:00:00
L6,invoice,2026-01-09 10:00:00
L6,cancelled,2026-01-10 10:00:00
L7,new,2026-01-05 10:00:00
L7,declined,2026-01-06 10:00:00
L8,new,2026-01-05 10:00:00
L8,cancelled,2026-01-06 10:00:00
W1,new,2026-01-05 10:00:00
W1,proposal,2026-01-07 10:00:00
W1,invoice,2026-01-10 10:00:00
W1,won,2026-01-15 10:00:00
O1,new,2026-01-05 10:00:00
"""
MANAGERS = "manager,name,role\nm1,Анна,manager\nm2,Борис,manager\nh1,Глеб,head_of_sales\n"


@pytest.fixture
def two_lost(client):
    return load(client({"deals.csv": DEALS, "stage_history.csv": HISTORY, "managers.csv": MANAGERS}, funnel=TWO_LOST))


def test_loader_keeps_which_lost_terminal_and_derives_outcome_and_close(two_lost):
    d = two_lost.tables["deals"].set_index("deal_id")
    assert two_lost.quarantine.empty
    assert two_lost.funnel.lost_stages == ["declined", "cancelled"] and two_lost.funnel.lost == "declined"
    assert d["outcome"].to_dict() == {"L1": "lost", "L2": "lost", "L3": "lost", "L4": "lost", "L5": "lost", "L6": "lost", "L7": "lost", "L8": "lost",
                                      "W1": "won", "O1": "open"}
    assert d.loc["L2", "stage"] == "cancelled" and d.loc["L4", "stage"] == "declined"
    # an empty closed_at is the first entry into the deal's own lost terminal, not into the funnel's first one
    assert d.loc["L3", "closed_at"] == pd.Timestamp("2026-01-12 10:00") and d.loc["L6", "closed_at"] == pd.Timestamp("2026-01-07 10:00")


def test_where_how_why_hand_computed(two_lost):
    r = losses.analyse(two_lost, FunnelSettings(), top_reasons=2)
    # the team: L1-L6 (L7 has no manager, L8 is the head of sales')
    assert r.lost == 6 and r.has_history and r.has_reasons and r.several_terminals
    how = r.how_.set_index("terminal")
    assert how["lost"].to_dict() == {"declined": 2, "cancelled": 4}
    assert how["share"].tolist() == pytest.approx([2 / 6, 4 / 6]) and how["amount"].tolist() == [500.0, 1600.0]
    # where: L2, L4 at new; L1 at proposal; L3 and L6 (reopened, lost again from invoice) at invoice; L5 has no history
    where = r.where_
    assert where["stage"].astype(object).where(where["stage"].notna(), "?").tolist() == ["new", "proposal", "invoice", "?"]
    assert where["lost"].tolist() == [2, 1, 2, 1] and where["share"].tolist() == pytest.approx([2 / 6, 1 / 6, 2 / 6, 1 / 6])
    assert where["amount"].tolist() == [600.0, 100.0, 900.0, 500.0]
    # why: 'Дорого' and ' дорого' are one reason; 'Выбрали  конкурента' one with 'Выбрали конкурента'; L4 gave none
    why = r.why_
    assert why["kind"].tolist() == ["given", "given", "other", "unknown"]
    assert why["reason"].tolist()[:2] == ["Выбрали конкурента", "Дорого"] and why["reason"].isna().tolist()[2:] == [True, True]
    assert why["lost"].tolist() == [2, 2, 1, 1] and why["share"].tolist() == pytest.approx([2 / 6, 2 / 6, 1 / 6, 1 / 6])
    cross = r.cross_[r.cross_["lost"] > 0]
    got = {(("?" if pd.isna(s) else s), t): n for s, t, n in zip(cross["stage"], cross["terminal"], cross["lost"])}
    assert got == {("new", "cancelled"): 1, ("new", "declined"): 1, ("proposal", "declined"): 1, ("invoice", "cancelled"): 2, ("?", "cancelled"): 1}
    groups = r.groups_.set_index("owner_group")
    assert groups["lost"].to_dict() == {"manager": 6, "no_manager": 1, "head_of_sales": 1}
    assert groups.loc["manager", "no_reason"] == 1 and groups.loc["manager", "unknown_stage"] == 1
    k = r.key_figures()
    assert k["losses_lost"] == 6 and k["losses_by_terminal"] == {"declined": 2, "cancelled": 4}
    assert k["losses_by_stage"] == {"new": 2, "proposal": 1, "invoice": 2, "unknown": 1}
    assert k["losses_top_reasons"] == {"Выбрали конкурента": 2, "Дорого": 2} and k["losses_no_reason_share"] == pytest.approx(1 / 6)


def test_managers_are_compared_with_the_rest_of_the_team(two_lost):
    r = losses.analyse(two_lost, FunnelSettings(min_n=3), top_reasons=2)
    m = r.managers_
    assert set(m["manager"]) == {"m1", "m2"}  # neither the head of sales nor the deal without a manager
    row = m[(m["manager"] == "m1") & (m["dimension"] == "terminal") & (m["category"] == "cancelled")].iloc[0]
    # m1: L1 declined, L2 and L6 cancelled; the rest (m2): L3, L5 cancelled, L4 declined
    assert (row["lost"], row["count"], row["rest_lost"], row["rest_count"]) == (3, 2, 3, 2)
    assert row["share"] == pytest.approx(2 / 3) and row["diff"] == pytest.approx(0.0) and row["verdict"] == "same"
    none = m[(m["manager"] == "m2") & (m["dimension"] == "no_reason")].iloc[0]
    assert (none["count"], none["lost"]) == (1, 3)
    assert set(m["dimension"]) == {"terminal", "reason", "no_reason"}
    assert not (m["dimension"] == "reason").any() or set(m.loc[m["dimension"] == "reason", "category"]) == {"Выбрали конкурента", "Дорого"}
    few = losses.analyse(two_lost, FunnelSettings(min_n=4), top_reasons=2).managers_
    assert (few["verdict"] == "not_judged").all() and few["p_value"].isna().all()


def _team_export(n_managers: int, per_manager: int, price_share: dict, declined_share: dict) -> tuple[str, str]:
    """Deals of a team: each manager loses ``per_manager`` deals, a given share to 'Дорого' and to 'declined'."""
    rows = ["deal_id,created_at,manager,amount,stage,closed_at,lost_reason"]
    others = ["Выбрали конкурента", "Нет бюджета", "Отложили покупку"]
    for i in range(1, n_managers + 1):
        m = f"m{i:02d}"
        n_price = round(per_manager * price_share.get(m, 0.25))
        n_decl = round(per_manager * declined_share.get(m, 0.3))
        for j in range(per_manager):
            reason = "Дорого" if j < n_price else others[j % 3]
            stage = "declined" if (j * 7) % per_manager < n_decl else "cancelled"
            rows.append(f"{m}-{j},2026-01-05 10:00:00,{m},1000,{stage},2026-02-01 10:00:00,{reason}")
    managers = "manager,name,role\n" + "".join(f"m{i:02d},Менеджер {i},manager\n" for i in range(1, n_managers + 1))
    return "\n".join(rows) + "\n", managers


def test_a_manager_who_loses_far_more_to_one_reason_is_flagged(client):
    deals, managers = _team_export(8, 100, {"m01": 0.60}, {})
    ds = load(client({"deals.csv": deals, "managers.csv": managers}, funnel=TWO_LOST))
    r = losses.analyse(ds, FunnelSettings())
    m = r.managers_
    price = m[(m["dimension"] == "reason") & (m["category"] == "Дорого")].set_index("manager")
    # m01: 60 of 100 for price; the rest: 7 × 25 of 700
    assert price.loc["m01", "share"] == pytest.approx(0.60) and price.loc["m01", "rest_share"] == pytest.approx(175 / 700)
    assert price.loc["m01", "diff"] == pytest.approx(0.35) and price.loc["m01", "verdict"] == "worse"
    assert price.loc["m01", "diff_low"] > 0.05  # the whole interval is beyond the practical threshold
    assert (price.drop(index="m01")["verdict"] != "worse").all()
    assert r.key_figures()["losses_flagged"] == ["m01:reason:Дорого"]
    # the test family is every judged manager × category: Holm over all of them
    judged = m[m["judgeable"]]
    p = judged["p_value"].to_numpy()
    assert judged["p_adjusted"].to_numpy() == pytest.approx(np.minimum(1, np.maximum.accumulate(np.sort(p) * (len(p) - np.arange(len(p)))))[np.argsort(np.argsort(p, kind="stable"), kind="stable")])


def test_a_tiny_difference_on_big_volume_is_not_flagged():
    # m1: 2 800 of 10 000 lost to price, the rest 2 500 of 10 000: 3 points, significant, below the 5-point threshold
    n = 10_000
    lost = pd.DataFrame({
        "manager": ["m1"] * n + ["m2"] * n,
        "owner_group": "manager",
        "terminal": "lost",
        "reason": ["Дорого"] * 2800 + ["Другое"] * (n - 2800) + ["Дорого"] * 2500 + ["Другое"] * (n - 2500),
    })
    single = type("F", (), {"lost_stages": ["lost"]})()
    m = manager_tests(lost, single, ["Дорого", "Другое"], min_n=20, alpha=0.05, min_effect=0.05)
    row = m[(m["manager"] == "m1") & (m["category"] == "Дорого")].iloc[0]
    assert row["diff"] == pytest.approx(0.03) and row["p_adjusted"] < 1e-4
    assert row["verdict"] == "small"
    # the same three points are flagged with a 2-point threshold: the rule, not the data, keeps it unflagged
    m2 = manager_tests(lost, single, ["Дорого", "Другое"], min_n=20, alpha=0.05, min_effect=0.02)
    assert m2[(m2["manager"] == "m1") & (m2["category"] == "Дорого")].iloc[0]["verdict"] == "worse"
    assert "terminal" not in set(m["dimension"])  # one lost terminal: nothing to compare


def test_an_old_single_lost_funnel_behaves_as_before(client):
    deals = """deal_id,created_at,manager,amount,stage,closed_at,lost_reason
d1,2026-01-05 10:00:00,m1,100,lost,,Дорого
d2,2026-01-05 10:00:00,m1,200,won,,
d3,2026-01-05 10:00:00,m2,300,proposal,,
d4,2026-01-05 10:00:00,m2,400,lost,2026-01-08 10:00:00,
"""
    history = """deal_id,stage,entered_at
d1,new,2026-01-05 10:00:00
d1,qualified,2026-01-06 10:00:00
d1,lost,2026-01-07 10:00:00
d2,new,2026-01-05 10:00:00
d2,won,2026-01-09 10:00:00
d3,new,2026-01-05 10:00:00
d3,proposal,2026-01-06 10:00:00
"""
    ds = load(client({"deals.csv": deals, "stage_history.csv": history}, funnel=ONE_LOST))  # one won, one lost terminal
    f = ds.funnel
    assert (f.won, f.lost, f.won_stages, f.lost_stages, f.terminals) == ("won", "lost", ["won"], ["lost"], ["won", "lost"])
    d = ds.tables["deals"].set_index("deal_id")
    assert d["outcome"].tolist() == ["lost", "won", "open", "lost"]
    assert d["closed_at"].tolist()[:2] == [pd.Timestamp("2026-01-07 10:00"), pd.Timestamp("2026-01-09 10:00")]
    r = losses.analyse(ds)
    assert r.how_["terminal"].tolist() == ["lost"] and r.how_["lost"].tolist() == [2] and not r.several_terminals
    k = r.key_figures()
    assert k["losses_by_stage"] == {"new": 0, "qualified": 1, "needs": 0, "proposal": 0, "invoice": 0, "unknown": 1}
    assert k["losses_top_reasons"] == {"Дорого": 1} and k["losses_no_reason_share"] == pytest.approx(0.5)
    assert set(r.managers_["dimension"]) <= {"reason", "no_reason"}


def test_normalise_reasons():
    got = normalise_reasons(pd.Series([" Дорого", "дорого", "ДОРОГО", "Дорого", "-", "  ", pd.NA, "Нет\tбюджета"]))
    assert got.tolist()[:4] == ["Дорого"] * 4 and got.isna().tolist()[4:7] == [True] * 3 and got.iloc[7] == "Нет бюджета"


# ---------------------------------------------------------------------------
# the page blocks (report/losses.py)


def _texts(blocks) -> list[str]:
    from salesaudit.report.page import Heading, Text

    return [b.text if isinstance(b, Heading) else b.markdown for b in blocks if isinstance(b, (Heading, Text))]


def _tables(blocks) -> list[pd.DataFrame]:
    from salesaudit.report.page import Table

    return [b.frame for b in blocks if isinstance(b, Table)]


def test_blocks_show_where_how_why_and_the_flagged_manager_in_both_languages(client):
    from salesaudit.report import losses as report
    from salesaudit.report.i18n import t
    from salesaudit.report.page import Figure

    deals, managers = _team_export(8, 100, {"m01": 0.60}, {})
    few = "".join(f"m09-{j},2026-01-05 10:00:00,m09,1000,declined,2026-02-01 10:00:00,Дорого\n" for j in range(5))
    ds = load(client({"deals.csv": deals + few, "managers.csv": managers + "m09,Новичок,manager\n"}, funnel=TWO_LOST))
    r = losses.analyse(ds, FunnelSettings())
    for lang in ("ru", "en"):
        blocks = report.blocks(r, lang)
        texts, tables = _texts(blocks), _tables(blocks)
        assert texts[0] == t("losses.title", lang) and sum(isinstance(b, Figure) for b in blocks) == 1
        assert t("losses.where_unknown", lang, share=report.fmt_.percent(1.0, lang, 1)) in texts  # no stage history
        how = tables[0]
        assert how.iloc[:, 0].tolist() == [ds.funnel.label("declined", lang), ds.funnel.label("cancelled", lang)]
        assert how[t("losses.col.lost", lang)].tolist() == [245, 560]  # 8 × 30 declined + m09's 5
        flagged = tables[2]
        row = flagged[flagged[t("losses.col.manager", lang)] == "Менеджер 1"].iloc[0]
        assert row[t("losses.col.compared", lang)] == t("losses.dim.reason", lang, name="Дорого")
        assert row[t("losses.col.verdict", lang)] == t("losses.verdict.worse", lang)
        assert row[t("losses.col.diff", lang, level=report.fmt_.percent(0.95, lang, 0))].startswith(report.points(r.managers_.loc[0, "diff"], lang))
        not_judged = tables[3]
        assert not_judged.iloc[:, 0].tolist() == ["Новичок"] and not_judged.iloc[:, 1].tolist() == [5]
    assert report.points(0.35, "en", 0.246, 0.446) == "+35.0 pp (+24.6 to +44.6)"
    assert report.points(-0.05, "ru") == "-5,0\u00a0п.\u00a0п."


def test_blocks_say_what_the_export_cannot_tell(client):
    from salesaudit.report import losses as report
    from salesaudit.report.i18n import t
    from salesaudit.report.page import Figure

    deals = "deal_id,created_at,manager,amount,stage,closed_at\n" + "".join(
        f"d{j},2026-01-05 10:00:00,m1,0,{'lost' if j % 2 else 'won'},2026-02-01 10:00:00\n" for j in range(40))
    r = losses.analyse(load(client({"deals.csv": deals}, funnel=ONE_LOST)))  # one lost terminal, no history, no reasons, no amounts
    blocks = report.blocks(r, "en")
    texts = _texts(blocks)
    for key in ("losses.one_terminal", "losses.no_reasons", "losses.nothing_to_compare"):
        assert t(key, "en") in texts, key
    assert t("losses.intro_no_amount", "en", lost="20") in texts and not any(isinstance(b, Figure) for b in blocks)
    none = "deal_id,created_at,manager,amount,stage,closed_at\nd1,2026-01-05 10:00:00,m1,10,won,2026-02-01 10:00:00\n"
    r = losses.analyse(load(client({"deals.csv": none})))
    assert _texts(report.blocks(r, "ru")) == [t("losses.title", "ru"), t("losses.none", "ru")]
