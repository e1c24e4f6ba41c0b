"""Config values in the forms people write: moments, periods, funnels by name, one timezone, notebooks."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from salesaudit.data.params import MOMENT_FORMS, load_run_config, parse_moment, parse_period
from salesaudit.errors import ParameterError
from salesaudit.runs.cli import main

REPO = Path(__file__).resolve().parents[1]
FUNNEL = REPO / "params" / "funnels" / "demo_b2b.yaml"


def write(tmp_path, text_or_dict, name="c.yaml"):
    p = tmp_path / name
    text = text_or_dict if isinstance(text_or_dict, str) else yaml.safe_dump(text_or_dict, allow_unicode=True)
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "written, expected",
    [
        ("as_of: 2026-10-31 23:59:59", dt.datetime(2026, 10, 31, 23, 59, 59)),  # YAML's own datetime
        ("as_of: '2026-10-31 23:59'", dt.datetime(2026, 10, 31, 23, 59)),
        ("as_of: '2026-10-31T23:59:00'", dt.datetime(2026, 10, 31, 23, 59)),
        ("as_of: '31.10.2026 23:59'", dt.datetime(2026, 10, 31, 23, 59)),
        ("as_of: '31.10.2026'", dt.datetime(2026, 10, 31, 23, 59, 59)),
        ("as_of: 2026-10-31", dt.datetime(2026, 10, 31, 23, 59, 59)),  # YAML's date: the end of that day
        ("as_of: '10.2026'", dt.datetime(2026, 10, 31, 23, 59, 59)),
        ("as_of: 2026-10", dt.datetime(2026, 10, 31, 23, 59, 59)),
        ("as_of: '2026-02'", dt.datetime(2026, 2, 28, 23, 59, 59)),
        # an offset is converted to the run's timezone (Moscow, UTC+3): 20:59 UTC is 23:59 in Moscow
        ("as_of: '2026-10-31T20:59:00Z'", dt.datetime(2026, 10, 31, 23, 59)),
        ("as_of: '2026-10-31T23:59:00+03:00'", dt.datetime(2026, 10, 31, 23, 59)),
        ("as_of: 2026-10-31T15:59:00-05:00", dt.datetime(2026, 10, 31, 23, 59)),  # YAML's aware datetime: 20:59 UTC
    ],
)
def test_as_of_forms(tmp_path, written, expected):
    cfg = load_run_config(write(tmp_path, f"data: data\npreset: generic\nfunnel: demo_b2b\ntimezone: Europe/Moscow\n{written}\n"))
    assert cfg.as_of == expected and cfg.as_of.tzinfo is None


def test_an_unreadable_as_of_names_the_forms_without_pydantic_words(tmp_path):
    with pytest.raises(ParameterError) as err:
        load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\nas_of: yesterday\n"))
    msg = str(err.value)
    assert "c.yaml" in msg and "`as_of`" in msg and "'yesterday' is not a moment" in msg and MOMENT_FORMS in msg
    assert "Input should be" not in msg and "valid datetime" not in msg


@pytest.mark.parametrize(
    "written, label",
    [("'2026-10'", "2026-10"), ("'10.2026'", "2026-10"), ("10.2026", "2026-10"), ("'2026-W41'", "2026-W41"),
     ("2026-10-14", "2026-10-14"), ("'14.10.2026'", "2026-10-14"), ("'1.2026'", "2026-01")],
)
def test_period_forms_become_one_label(tmp_path, written, label):
    cfg = load_run_config(write(tmp_path, f"data: data\npreset: generic\nfunnel: demo_b2b\nperiod: {written}\n"))
    assert cfg.period == label
    assert parse_period(cfg.period).label == label


def test_parse_moment_and_period_reject_nonsense():
    with pytest.raises(ValueError, match="accepted forms"):
        parse_moment("31/31/2026")
    with pytest.raises(ValueError, match=r"accepted forms: 2026-10 or 10.2026 \(month\)"):
        parse_period("October")
    assert parse_moment("29.02.2028 10:00") == dt.datetime(2028, 2, 29, 10, 0)


def test_funnel_by_name_or_omitted(tmp_path):
    by_name = load_run_config(write(tmp_path, "data: data\npreset: bitrix24\nfunnel: bitrix24_default\n"))
    omitted = load_run_config(write(tmp_path, "data: data\npreset: bitrix24\n", "d.yaml"))
    assert by_name.funnel.keys == omitted.funnel.keys
    assert omitted.funnel.won == "won" and "executing" in omitted.funnel.keys
    with pytest.raises(ParameterError, match="Did you mean 'bitrix24_default'"):
        load_run_config(write(tmp_path, "data: data\npreset: bitrix24\nfunnel: bitrix24_defualt\n", "e.yaml"))
    with pytest.raises(ParameterError, match="has no default funnel"):
        load_run_config(write(tmp_path, "data: data\npreset: generic\n", "f.yaml"))


def test_one_timezone_from_the_top_the_calendar_or_the_preset(tmp_path):
    top = load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\ntimezone: Asia/Yekaterinburg\n"))
    assert top.timezone == "Asia/Yekaterinburg" and top.calendar.timezone == "Asia/Yekaterinburg"
    old_style = load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\nlead_response: {calendar: {timezone: Asia/Omsk}}\n", "b.yaml"))
    assert old_style.timezone == "Asia/Omsk" and old_style.calendar.timezone == "Asia/Omsk"
    assert load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\n", "c2.yaml")).timezone == "UTC"
    assert load_run_config(write(tmp_path, "data: data\npreset: bitrix24\n", "d.yaml")).timezone == "Europe/Moscow"
    assert load_run_config(write(tmp_path, "data: data\npreset: amocrm\n", "e.yaml")).timezone == "Europe/Moscow"
    with pytest.raises(ParameterError, match="two timezones"):
        load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\ntimezone: UTC\nlead_response: {calendar: {timezone: Asia/Omsk}}\n", "g.yaml"))
    with pytest.raises(ParameterError, match="unknown timezone 'Mars/Olympus'"):
        load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\ntimezone: Mars/Olympus\n", "h.yaml"))


def test_production_calendar_defaults_to_the_presets(tmp_path):
    assert load_run_config(write(tmp_path, "data: data\npreset: bitrix24\n")).lead_response.calendar.production == "ru"
    assert load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\n", "b.yaml")).lead_response.calendar.production == "none"
    own = load_run_config(write(tmp_path, "data: data\npreset: bitrix24\nlead_response: {calendar: {production: none}}\n", "c2.yaml"))
    assert own.lead_response.calendar.production == "none"


def test_notebooks_as_a_comma_list(tmp_path):
    cfg = load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\nnotebooks: '01_funnel,02_stage_stalls'\n"))
    assert cfg.notebooks == ["01_funnel", "02_stage_stalls"]
    cfg = load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\nnotebooks: [01_funnel, '02_stage_stalls, 03_leads']\n", "b.yaml"))
    assert cfg.notebooks == ["01_funnel", "02_stage_stalls", "03_leads"]


def test_currency_names_and_rates(tmp_path):
    cfg = load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\ncurrency: руб.\nexchange_rates: {$: 91.5, евро: 99}\n"))
    assert cfg.currency == "RUB" and cfg.exchange_rates == {"USD": 91.5, "EUR": 99.0}
    with pytest.raises(ParameterError, match="is not a currency"):
        load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\ncurrency: тугрики\n", "b.yaml"))
    with pytest.raises(ParameterError, match="rates must be positive"):
        load_run_config(write(tmp_path, "data: data\npreset: generic\nfunnel: demo_b2b\nexchange_rates: {USD: 0}\n", "c2.yaml"))


def test_check_prints_the_timezone_and_accepts_an_offset_as_of(tmp_path, capsys):
    cfg = {"data": str(REPO / "data_samples" / "demo_generic"), "preset": "generic", "funnel": "demo_b2b",
           "as_of": "2026-10-31T20:59:59Z", "timezone": "Europe/Moscow",
           "lead_response": {"calendar": {"production": "none"}}}
    code = main(["check", "--config", str(write(tmp_path, cfg)), "--language", "en"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == "Timezone of every timestamp: Europe/Moscow."
    assert "The load raised no problems." in out


@pytest.mark.parametrize(
    "line, words",
    [
        ("client: [a, b]", "it should be text"),
        ("seed: many", "it should be a whole number"),
        ("deal_load: {limit: 0}", "it should be greater than 0"),
        ("lead_response: {same_day: sometimes}", "it should be true or false"),
        ("lead_response: {calendar: {holidays: [31st of May]}}", "it should be a date such as 2026-10-31"),
        ("lead_response: {calendar: {start: '9am'}}", "does not have the expected form"),
        ("discounts: {max_discount_pct: lots}", "it should be a number"),
    ],
)
def test_wrong_values_are_explained_in_plain_words(tmp_path, line, words):
    with pytest.raises(ParameterError) as err:
        load_run_config(write(tmp_path, f"data: data\npreset: generic\nfunnel: demo_b2b\n{line}\n"))
    msg = str(err.value)
    assert words in msg and "c.yaml" in msg
    assert "Input should be" not in msg and "input should be" not in msg
