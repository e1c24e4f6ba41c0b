"""Parameter files: schema errors name the file, the key and the allowed values."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from salesaudit.data.params import load_funnel, load_run_config, parse_period
from salesaudit.data.presets import available_presets, load_preset
from salesaudit.errors import ParameterError, PresetError

REPO = Path(__file__).resolve().parents[1]
FUNNEL = REPO / "params" / "funnels" / "demo_b2b.yaml"


def write(tmp_path, data, name="c.yaml"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def base(**kw):
    d = {"data": "data", "preset": "generic", "funnel": str(FUNNEL)}
    d.update(kw)
    return d


def test_every_committed_params_file_is_valid():
    for cfg in sorted((REPO / "params" / "clients").glob("*.yaml")):
        load_run_config(cfg)
    for f in sorted((REPO / "params" / "funnels").glob("*.yaml")):
        load_funnel(f)
    names = available_presets()
    assert {"bitrix24", "amocrm", "hubspot", "pipedrive", "salesforce", "generic", "maven", "olist"} <= set(names)
    for n in names:
        preset = load_preset(n)
        if preset.funnel:  # the preset's own funnel covers every stage it maps to
            funnel = load_funnel(preset.source.parent / preset.funnel)
            assert set(preset.stages.values()) <= set(funnel.keys), n


def test_demo_config_values():
    cfg = load_run_config(REPO / "params" / "clients" / "demo.yaml")
    assert cfg.language == "ru" and cfg.period == "2026-10" and cfg.deal_load.limit == 30
    assert cfg.funnel.keys == ["new", "qualified", "needs", "proposal", "invoice", "won", "lost", "cancelled"]
    assert cfg.funnel.mandatory == ["needs"] and cfg.funnel.won == "won" and cfg.funnel.lost == "lost"
    assert cfg.funnel.lost_stages == ["lost", "cancelled"] and cfg.funnel.norms()["qualified"] == pytest.approx(1 / 24, abs=1e-6)
    assert cfg.system_owners == ["robot"] and cfg.deal_load.per_manager == {"m_desk": 60}
    assert cfg.funnel.norms()["proposal"] == 7
    assert cfg.as_of == dt.datetime(2026, 10, 31, 23, 59, 59)
    assert cfg.data_dir == (REPO / "data_samples" / "demo_generic").resolve()
    assert cfg.lead_response.sla_minutes == 30 and cfg.calendar.workdays == (0, 1, 2, 3, 4)


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path):
    p = write(tmp_path, base(lanuage="en"))
    with pytest.raises(ParameterError) as err:
        load_run_config(p)
    msg = str(err.value)
    assert "c.yaml" in msg and "unknown key `lanuage`" in msg and "Did you mean 'language'?" in msg
    assert "Allowed keys here:" in msg and "language" in msg and "period" in msg


def test_bad_literal_lists_allowed_values(tmp_path):
    with pytest.raises(ParameterError) as err:
        load_run_config(write(tmp_path, base(language="de")))
    assert "`language` is 'de'; allowed values: 'ru' or 'en'." in str(err.value)
    with pytest.raises(ParameterError, match=r"`grain` is 'year'; allowed values: 'day', 'week' or 'month'"):
        load_run_config(write(tmp_path, base(grain="year")))


def test_nested_keys_are_named_with_their_path(tmp_path):
    with pytest.raises(ParameterError) as err:
        load_run_config(write(tmp_path, base(lead_response={"calendar": {"workdays": ["mon", "funday"], "start": "9am"}})))
    msg = str(err.value)
    assert "`lead_response.calendar.workdays[1]` is 'funday'; allowed values: 'mon', 'tue'" in msg
    assert "`lead_response.calendar.start` is '9am'" in msg
    with pytest.raises(ParameterError, match="unknown timezone 'Mars/Olympus'"):
        load_run_config(write(tmp_path, base(lead_response={"calendar": {"timezone": "Mars/Olympus"}})))
    with pytest.raises(ParameterError, match=r"`deal_load.limit` is 0: it should be greater than 0"):
        load_run_config(write(tmp_path, base(deal_load={"limit": 0})))


def test_funnel_rules(tmp_path):
    stages = [{"key": "a", "label": {"ru": "А", "en": "A"}}, {"key": "b", "label": {"ru": "Б", "en": "B"}}, {"key": "won", "label": {"ru": "В", "en": "W"}, "terminal": "won"}]
    with pytest.raises(ParameterError, match="at least one stage needs `terminal: won` and at least one `terminal: lost`"):
        load_run_config(write(tmp_path, base(funnel={"stages": stages})))
    stages.append({"key": "a", "label": {"ru": "Г", "en": "L"}, "terminal": "lost"})
    with pytest.raises(ParameterError, match="repeated: a"):
        load_run_config(write(tmp_path, base(funnel={"stages": stages})))


def test_several_lost_and_won_terminals(tmp_path):
    def st(key, terminal=None):
        return {"key": key, "label": {"ru": key, "en": key}, **({"terminal": terminal} if terminal else {})}

    stages = [st("a"), st("b"), st("won", "won"), st("won_upsell", "won"), st("declined", "lost"), st("cancelled", "lost"), st("no_answer", "lost")]
    f = load_run_config(write(tmp_path, base(funnel={"stages": stages}))).funnel
    assert f.open_stages == ["a", "b"] and f.won_stages == ["won", "won_upsell"] and f.lost_stages == ["declined", "cancelled", "no_answer"]
    assert (f.won, f.lost) == ("won", "declined")  # the first of each, for code that wants one
    assert f.terminals == ["won", "won_upsell", "declined", "cancelled", "no_answer"]
    assert [f.outcome_of(k) for k in ("b", "won_upsell", "no_answer")] == ["open", "won", "lost"]
    with pytest.raises(ParameterError, match="at least one `terminal: lost`"):
        load_run_config(write(tmp_path, base(funnel={"stages": [s for s in stages if s.get("terminal") != "lost"]})))
    with pytest.raises(ParameterError, match=r"the terminal stages \(won and lost\) must come after every open stage"):
        load_run_config(write(tmp_path, base(funnel={"stages": [stages[0], stages[4], *stages[1:4]]})))
    # every committed funnel: `won` / `lost` are the first of their kind, the terminals follow the open stages
    for path in sorted((REPO / "params" / "funnels").glob("*.yaml")):
        g = load_funnel(path)
        assert (g.won, g.lost) == (g.won_stages[0], g.lost_stages[0]), path.name
        assert g.terminals == g.keys[len(g.open_stages):] and sorted(g.terminals) == sorted(g.won_stages + g.lost_stages), path.name


def test_errors_in_an_included_file_name_that_file(tmp_path):
    write(tmp_path, "stages:\n  - {key: Bad Key, label: {ru: x, en: y}}\n", "f.yaml")
    with pytest.raises(ParameterError) as err:
        load_run_config(write(tmp_path, base(funnel="f.yaml")))
    assert str(err.value).startswith(str(tmp_path / "f.yaml")) or "f.yaml" in str(err.value).split(":")[0]
    assert "`stages[0].key`" in str(err.value)


def test_stage_map_must_point_into_the_funnel(tmp_path):
    with pytest.raises(ParameterError, match="stage_map points to nowhere, not a funnel stage; allowed: new, qualified"):
        load_run_config(write(tmp_path, base(stage_map={"X": "nowhere"})))


def test_required_deal_fields_and_files_are_checked(tmp_path):
    with pytest.raises(ParameterError, match="not a deals column: colour"):
        load_run_config(write(tmp_path, base(required_deal_fields=["amount", "colour"])))
    with pytest.raises(ParameterError, match="unknown table dealz"):
        load_run_config(write(tmp_path, base(files={"dealz": "x.csv"})))


def test_yaml_syntax_and_missing_file(tmp_path):
    with pytest.raises(ParameterError, match="is not valid YAML at line 2"):
        load_run_config(write(tmp_path, "data: x\n  preset: : y\n"))
    with pytest.raises(ParameterError, match="does not exist"):
        load_run_config(tmp_path / "nope.yaml")


def test_unknown_preset_lists_the_known_ones(tmp_path):
    p = write(tmp_path, base(preset="bitrix"))
    with pytest.raises(ParameterError) as err:  # the config's preset is read with the config (its defaults)
        load_run_config(p)
    assert str(p.name) in str(err.value)
    with pytest.raises(ParameterError) as err:
        load_preset("bitrix", tmp_path, p)
    assert "Did you mean 'bitrix24'?" in str(err.value) and "amocrm" in str(err.value)


def test_bad_preset_names_the_preset_key(tmp_path):
    write(tmp_path, "name: x\ntables:\n  deals:\n    files: [d.csv]\n    columns: {deal_id: ID, colour: Цвет}\n", "x.yaml")
    with pytest.raises(PresetError) as err:
        load_preset("x.yaml", tmp_path)
    assert "x.yaml" in str(err.value) and "`tables.deals.columns.colour` is not a column of deals" in str(err.value)


@pytest.mark.parametrize(
    "text,grain,label,start,end",
    [
        ("2026-10", None, "2026-10", "2026-10-01", "2026-11-01"),
        ("2026-12", None, "2026-12", "2026-12-01", "2027-01-01"),
        ("2026-W41", None, "2026-W41", "2026-10-05", "2026-10-12"),
        ("2026-10-14", None, "2026-10-14", "2026-10-14", "2026-10-15"),
        ("2026-10-14", "week", "2026-W42", "2026-10-12", "2026-10-19"),
        ("2026-10-14", "month", "2026-10", "2026-10-01", "2026-11-01"),
    ],
)
def test_parse_period(text, grain, label, start, end):
    p = parse_period(text, grain)
    assert (p.label, p.start.date().isoformat(), p.end.date().isoformat()) == (label, start, end)


def test_bad_period_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match=r"period '2026/10' is not a period; accepted forms: 2026-10 or 10.2026 \(month\), 2026-W41"):
        load_run_config(write(tmp_path, base(period="2026/10")))
