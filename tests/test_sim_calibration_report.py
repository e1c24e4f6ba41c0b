"""The calibration of notebook 06 in the report's language: tables (``calibration_tables``) and notes
(``calibration_notes``).

* Headers, coded cells (stages, sources, effects, yes/no, all channels) and the assumptions'
  meanings come in Russian or English; numbers are rounded as the notebook showed them.
* Every note :func:`calibrate` can write has a label; ``cal.notes`` holds its key and parameters
  (no language), the English text is the one the notes always had, the Russian one is a
  translation. The demo with a huge ``min_n`` and Olist (when ``../shared/realdata`` is there)
  write notes for real.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import REPO, needs_realdata

from salesaudit.errors import SalesauditError
from salesaudit.report.capacity import calibration_notes, calibration_tables
from salesaudit.report.i18n import LABELS, t
from salesaudit.sim.calibrate import ASSUMPTIONS, _Notes, calibrate

CYRILLIC = re.compile("[А-Яа-яЁё]")
CALIBRATE_PY = REPO / "lib" / "salesaudit" / "sim" / "calibrate.py"

#: every note calibrate() writes, as its English text was before the notes got labels
OLD_NOTES = {
    ("capacity.note.lead_status", ()): "leads carry no status: a lead with a deal counts as converted, one older than 60 days without a deal as disqualified",
    ("capacity.note.response_proxy", ()): "no first-response times in the export: the response is proxied by the lead → deal time of converted leads "
                                           "(biased: only leads that converted are seen), and the slow-response effect cannot be estimated",
    ("capacity.note.channel_share", ()): "lead → deal: the response-time model could not be fitted; each channel's own conversion share is used",
    ("capacity.note.stage_no_stays", (("stage", "new"),)): "stage new: no stays in the data; deals pass through it without delay",
    ("capacity.note.head_no_leads", (("seller", "h01"),)): "the head of sales h01 took no leads in the window and is not simulated as a seller",
    ("capacity.note.skill_channels", ()): "some sellers took no leads of some channels: the skill rule keeps them to the channels they served",
    # the assumption's key (min_n) is no longer shown: its value is
    ("capacity.note.amounts_all_deals", (("n", 30),)): "deal amounts: fewer than 30 won deals in the window; amounts of all deals are resampled",
}


@pytest.fixture(scope="module")
def cal(demo_cal):
    return demo_cal


@pytest.fixture(scope="module")
def tables(cal):
    return {lang: calibration_tables(cal, lang) for lang in ("ru", "en")}


def test_tables_have_translated_headers_and_no_code_column_names(cal, tables):
    raw = {"stages": cal.stages_, "sellers": cal.sellers_, "effects": cal.effects_, "conversions": cal.conversions_,
           "assumptions": cal.assumptions_}
    assert set(tables["ru"]) == set(tables["en"]) == set(raw)
    for name, df in tables["ru"].items():
        assert all(CYRILLIC.search(h) for h in df.columns), (name, list(df.columns))
        assert not set(df.columns) & set(raw[name].columns), name
        assert len(df) == len(raw[name])
    for name, df in tables["en"].items():
        assert not set(df.columns) & set(raw[name].columns), name
    ru, en = tables["ru"], tables["en"]
    assert "Доля перехода вперёд" in ru["stages"] and "Forward share" in en["stages"]
    assert "p_forward" not in ru["stages"] and "touch_source" not in ru["stages"]
    assert list(ru["sellers"].columns[:2]) == ["Менеджер", "РОП"]
    assert list(en["effects"].columns) == ["Effect", "Estimate", "95 % CI from", "95 % CI to", "Observations (leavers for attrition)",
                                           "Detectable", "Used in the model", "Source"]
    assert list(ru["assumptions"].columns) == ["Параметр", "Значение", "Что означает"]


def test_coded_cells_are_words_and_numbers_are_rounded(cal, tables):
    ru, en = tables["ru"], tables["en"]
    # stages: the funnel's labels; the demo has activities on every stage, so touch work is the data's
    assert list(ru["stages"]["Этап"]) == ["Новая заявка", "Квалификация", "Выявление потребностей", "Коммерческое предложение", "Счёт выставлен"]
    assert list(en["stages"]["Stage"])[:2] == ["New", "Qualified"]
    assert set(ru["stages"]["Работа: источник"]) == {"данные"} and set(en["stages"]["Touch work: source"]) == {"data"}
    assert list(ru["stages"]["Доля перехода вперёд"]) == list(cal.stages_["p_forward"].round(3))
    assert ru["stages"]["Доля перехода вперёд"].iloc[0] == round(float(cal.stages_["p_forward"].iloc[0]), 3)
    # sellers: by name, never by the CRM's key (one column for both), the head marked, everybody serves all channels
    s = ru["sellers"].set_index("Менеджер")
    assert len(s.columns) + 1 == len(cal.sellers_.columns) - 1  # all but the key (the name is the index)
    name = cal.sellers_.set_index("seller")["name"]
    assert list(s.index) == [name[k] for k in cal.sellers_["seller"]] and not set(cal.sellers_["seller"]) & set(s.index)
    assert s.loc[name["h01"], "РОП"] == "да" and s.loc[name["m01"], "РОП"] == "нет"
    assert set(s["Каналы"]) == {"все"} and set(en["sellers"]["Channels"]) == {"all"}
    assert s.loc[name["m02"], "Лидов в окне"] == int(cal.sellers_.set_index("seller").loc["m02", "leads_in_window"])
    # effects: names, yes/no, sources in words; rounded to 4 decimals
    e = ru["effects"].set_index("Эффект")
    over = "Перегрузка: лог-шансы выигрыша на +10 открытых сделок"
    assert list(e.index) == ["Медленный ответ: лог-шансы на log(1 + часы ответа)", over, "Уход менеджеров: в месяц на менеджера"]
    assert e.loc[over, "Источник"] == "допущение" and e.loc[over, "Виден в данных"] == "нет"
    assert e.loc["Уход менеджеров: в месяц на менеджера", "Источник"] == "данные"
    assert list(en["effects"]["Source"]) == ["data", "assumption", "data"]
    assert e.loc[over, "Оценка"] == round(float(cal.effects_.set_index("effect").loc["delta_overload", "estimate"]), 4)


def test_assumption_meanings_are_in_the_language_asked(cal, tables):
    keys = list(cal.assumptions_["name"])
    derived = ["handling_min", "touch_min_per_deal_day", "volume_cv", "decision_median_min"]
    assert keys == list(ASSUMPTIONS) + derived
    ru = tables["ru"]["assumptions"].set_index("Параметр")
    en = tables["en"]["assumptions"].set_index("Parameter")
    # the keys of params/simulation/*.yaml are not shown: each row is named by its label
    assert list(ru.index) == [t(f"capacity.assumption_name.{k}", "ru") for k in keys]
    assert list(en.index) == [t(f"capacity.assumption_name.{k}", "en") for k in keys]
    for frame in (ru, en):
        cells = [str(x) for x in frame.index] + [str(x) for x in frame.to_numpy().ravel()]
        assert not [c for c in cells if re.search(r"[a-z]+_[a-z]+", c) or c in ("None", "nan", "True", "False")], cells
    assert all(CYRILLIC.search(m) for m in ru["Что означает"])
    assert ru.loc["Выход нового менеджера на полную продуктивность, недель", "Что означает"] == "недель до полной продуктивности нового менеджера"
    assert ru.loc["Выход нового менеджера на полную продуктивность, недель", "Значение"] == "8"
    assert ru.loc["Продуктивность нового менеджера в первый день", "Значение"] == "0,50"
    assert en.loc["New seller's productivity on day one", "Value"] == "0.50"
    assert ru.loc["Часов РОПа в месяц", "Что означает"] == "рабочих часов РОПа в месяц"
    # codes in words: the routing rule, what happens at the limit, no limit, the inflow level
    assert ru.loc["Распределение лидов (базовый сценарий)", "Значение"] == "по кругу"
    assert en.loc["Lead routing (base scenario)", "Value"] == "round robin"
    assert ru.loc["Распределение лидов (базовый сценарий)", "Что означает"] == \
        "правило распределения лидов: по кругу, наименее загруженному, по навыку, общая очередь"
    assert ru.loc["Лимит сделок (базовый сценарий)", "Значение"] == "без лимита"
    assert en.loc["Deal-load limit (base scenario)", "Value"] == "no limit"
    assert en.loc["A lead for a seller at the limit", "Value"] == "waits for a free slot of its seller"  # the default: queue
    assert en.loc["Lead volume ahead", "Value"] == "the window's level"
    assert ru.loc["От ответа до сделки, медиана раб. мин", "Что означает"] == "рабочих минут от первого ответа до создания сделки (данные)"
    # the English meanings of the plain assumptions are those of ASSUMPTIONS, which the errors and the docs use
    for key, (_, meaning) in ASSUMPTIONS.items():
        if key not in ("at_limit", "routing"):  # these list their options, in words on the page
            assert en.loc[t(f"capacity.assumption_name.{key}", "en"), "Meaning"] == meaning, key
    assert not any(CYRILLIC.search(m) for m in en["Meaning"])
    # the calibration's own table is left in English, with its keys
    assert cal.assumptions_.set_index("name").loc["ramp_weeks", "meaning"] == ASSUMPTIONS["ramp_weeks"][1]


def test_every_note_calibrate_writes_has_a_label_and_no_plain_note_is_left():
    src = CALIBRATE_PY.read_text(encoding="utf-8")
    assert "notes.append(" not in src
    used = set(re.findall(r'notes\.add\("(capacity\.note\.[a-z_]+)"', src))
    assert used == {k for k in LABELS if k.startswith("capacity.note.")}
    assert {k for k, _ in OLD_NOTES} <= used


def test_the_trend_notes_say_what_the_inflow_does(demo):
    c = calibrate(demo, assumptions={"inflow_trend": "fitted"})
    tr = c.inflow_summary_["trend"]
    assert c.params.inflow.growth_per_year == tr["per_year"]
    assert c.notes == [("capacity.note.trend_used", {"growth": tr["per_year"], "lo": tr["ci_low"], "hi": tr["ci_high"]})]
    assert calibration_notes(c, "en") == [
        f"lead volume changes × {tr['per_year']:.2f} a year (95 % CI {tr['ci_low']:.2f}…{tr['ci_high']:.2f}); "
        "as assumed, the trend is projected over the horizon"]
    assert calibration_notes(c, "ru")[0].startswith(f"объём лидов растёт в {tr['per_year']:.2f} раза за год".replace(".", ","))  # decimal comma in ru


def test_every_note_comes_back_translated_and_its_english_text_is_unchanged(cal):
    notes = _Notes()
    for key, params in OLD_NOTES:
        notes.add(key, **dict(params))
    assert list(notes) == [(key, dict(params)) for key, params in OLD_NOTES]  # keys and parameters, no language
    c = dataclasses.replace(cal, notes=list(notes))
    ru, en = calibration_notes(c, "ru"), calibration_notes(c, "en")
    assert len(ru) == len(en) == 7
    assert all(CYRILLIC.search(n) for n in ru), ru
    assert ru[3] == "этап «Новая заявка»: в данных нет заходов на него; сделки проходят его без задержки"  # the stage by its label
    assert en[3] == "stage New: no stays in the data; deals pass through it without delay"
    assert ru[4] == "РОП h01 не получал лидов в окне оценки и не моделируется как продающий менеджер"
    assert en[:3] + en[4:] == list(OLD_NOTES.values())[:3] + list(OLD_NOTES.values())[4:]
    # a note added by hand has no label: it is shown as it is
    hand = dataclasses.replace(c, notes=c.notes + ["a note from elsewhere"])
    assert calibration_notes(hand, "ru")[-1] == "a note from elsewhere"


def test_demo_with_a_large_min_n_writes_notes_in_both_languages(demo):
    c = calibrate(demo, assumptions={"min_n": 100000})
    assert c.notes == [("capacity.note.response_proxy", {}), ("capacity.note.amounts_all_deals", {"n": 100000})]
    assert calibration_notes(c, "en") == [OLD_NOTES[("capacity.note.response_proxy", ())],
                                          "deal amounts: fewer than 100,000 won deals in the window; amounts of all deals are resampled"]
    assert calibration_notes(c, "ru") == [
        t("capacity.note.response_proxy", "ru"),
        "суммы сделок: выигранных сделок в окне меньше 100\u00a0000; суммы берутся из всех сделок",
    ]
    assert calibration_notes(c, "ru")[0].startswith("в выгрузке нет времени первого ответа")
    # with too few observations for anybody's own fit, no seller has one
    assert set(calibration_tables(c, "ru")["sellers"]["Своя оценка ответа"]) == {"нет"}
    assert set(calibration_tables(c, "ru")["stages"]["Работа: источник"]) == {"среднее по отделу"}


def test_an_unknown_language_is_refused(cal):
    with pytest.raises(SalesauditError, match="ru, en"):
        calibration_tables(cal, "de")
    with pytest.raises(SalesauditError, match="ru, en"):
        calibration_notes(cal, "de")


@needs_realdata("olist_marketing_funnel")
def test_olist_calibration_notes_in_russian():
    import salesaudit as sa

    ds = sa.load(REPO / "params" / "clients" / "olist.yaml")
    c = calibrate(ds, as_of="2018-02-28 23:59:59", assumptions={"window_days": 61})
    keys = [k for k, _ in c.notes]
    assert keys == ["capacity.note.lead_status", "capacity.note.response_proxy", "capacity.note.channel_share",
                    "capacity.note.stage_no_stays", "capacity.note.amounts_all_deals", "capacity.note.no_payments"]
    ru = calibration_notes(c, "ru")
    assert len(ru) == len(c.notes) == 6 and all(CYRILLIC.search(n) for n in ru)
    assert c.params.pay_curves is None and c.params.earlier_payments is None  # no payments: a win counts as paid on its day
    assert ru[0] == "у лидов нет статуса: лид со сделкой считается конвертированным, лид старше 60 дней без сделки — отсеянным"
    assert c.notes[3] == ("capacity.note.stage_no_stays", {"stage": "mql"})
    assert calibration_notes(c, "en")[3].startswith("stage Marketing-qualified lead: no stays in the data")
    assert ru[3].startswith("этап «") and "mql" not in ru[3]


def test_the_conversion_check_in_both_languages(tables):
    ru, en = tables["ru"]["conversions"], tables["en"]["conversions"]
    assert list(ru.columns) == ["Разрез", "Группа", "Лидов", "Конверсия, факт", "95\u00a0% ДИ от", "95\u00a0% ДИ до", "Конверсия, модель", "Модель в ДИ"]
    assert list(en.columns) == ["By", "Group", "Leads", "Conversion, observed", "95 % CI from", "95 % CI to", "Conversion, model", "Model inside the CI"]
    assert ru.loc[ru["Разрез"] == "время ответа", "Группа"].iloc[0] == "≤15 раб. мин"
    assert en.loc[en["By"] == "response time", "Group"].iloc[-1] == ">540 working min"
    assert set(ru["Модель в ДИ"]) == {"да"} and set(en["Model inside the CI"]) == {"yes"}
