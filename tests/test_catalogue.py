"""The message catalogue (report/messages/*.yaml) and the one place numbers are formatted (report/format.py)."""
from __future__ import annotations

import datetime as dt
import json
import re
import string
from pathlib import Path

import pytest
import yaml

from salesaudit.report import format as fmt
from salesaudit.report import i18n
from salesaudit.report.i18n import LABELS, LANGUAGES, PLURAL_FORMS, has, plural_form, t

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / "lib" / "salesaudit"
MESSAGES = LIB / "report" / "messages"
NBSP = "\u00a0"


def _catalogue(lang: str) -> dict:
    return yaml.safe_load((MESSAGES / f"{lang}.yaml").read_text(encoding="utf-8"))


def _fields(text: str) -> list[str]:
    return sorted({f for _, f, _, _ in string.Formatter().parse(text) if f})


def _sources():
    """(path, code) of every Python module under lib/ and the code cells of every notebook."""
    for p in sorted((REPO / "lib").rglob("*.py")):
        yield p, p.read_text(encoding="utf-8")
    for p in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(p.read_text(encoding="utf-8"))
        yield p, "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


# ---------------------------------------------------------------------------
# the catalogue


def test_both_languages_hold_the_same_keys_in_the_same_order():
    ru, en = _catalogue("ru"), _catalogue("en")
    assert list(ru) == list(en)
    assert list(LABELS) == list(ru) and len(LABELS) > 1000


def test_every_message_has_the_same_placeholders_in_every_language_and_plural_form():
    for key, entry in LABELS.items():
        assert set(entry) == set(LANGUAGES), key
        seen = []
        for lang in LANGUAGES:
            text = entry[lang]
            if isinstance(text, str):
                assert text.strip(), (key, lang)
                seen.append(_fields(text))
            else:  # plural forms: exactly the language's CLDR categories, each one a non-empty text
                assert tuple(text) == PLURAL_FORMS[lang], (key, lang, tuple(text))
                for form, variant in text.items():
                    assert isinstance(variant, str) and variant.strip(), (key, lang, form)
                    seen.append(_fields(variant))
        assert all(f == seen[0] for f in seen), (key, seen)


def _texts(lang: str):
    """(key, text) of every message in ``lang``, a plural message once per form."""
    for key, entry in LABELS.items():
        text = entry[lang]
        yield from ((key, text),) if isinstance(text, str) else ((f"{key}[{form}]", v) for form, v in text.items())


#: a placeholder with a format spec or a conversion: {x:.0%} {x:,.0f} {x:+.2f} {x:g} {x!r}
_FIELD_SPEC = re.compile(r"\{[A-Za-z_0-9]*[:!][^{}]*\}")
#: a percent sign glued to a digit or a placeholder (95%, {x}%), or apart from it by an ordinary space (95 %)
_GLUED_PERCENT = re.compile(r"[0-9}]%")
_SPACED_PERCENT = re.compile(r"[0-9}][ \t\u2009\u202f]+%")


def test_the_catalogue_holds_words_only_numbers_arrive_formatted():
    """Every number reaches a text already formatted by report/format.py: no placeholder carries a format spec."""
    assert _FIELD_SPEC.search("{lo:.0%}") and _FIELD_SPEC.search("{p50:,.0f}") and _FIELD_SPEC.search("{norm:g}") and not _FIELD_SPEC.search("{share}")
    bad = [(lang, key, text) for lang in LANGUAGES for key, text in _texts(lang)
           if _FIELD_SPEC.search(text) or any(spec for _, f, spec, conv in string.Formatter().parse(text) if f is not None and (spec or conv))]
    assert not bad, "format the number with salesaudit.report.format and pass it as a plain {name}:\n" + "\n".join(map(str, bad))
    # a percentage arrives as fmt.percent(share) with its own sign, in either language: never {x}% with x in percent units
    glued = [(lang, key, text) for lang in LANGUAGES for key, text in _texts(lang) if "}%" in text]
    assert not glued, "pass fmt.percent(value / 100, lang, digits, trim=True) and drop the % after the placeholder:\n" + "\n".join(map(str, glued))


def test_russian_texts_write_a_percentage_with_a_no_break_space():
    """ru (CLDR, Russian typography): ``95 %`` with U+00A0, never ``95%``, ``{x}%`` or ``95 %`` with an ordinary space."""
    for sample in ("95%", "{threshold}%", "99,8%", "95 %", "{x} %"):
        assert _GLUED_PERCENT.search(sample) or _SPACED_PERCENT.search(sample), sample
    for sample in (f"95{NBSP}% ДИ", "Доли в %.", "{share} сделок"):
        assert not (_GLUED_PERCENT.search(sample) or _SPACED_PERCENT.search(sample)), sample
    glued = [(key, text) for key, text in _texts("ru") if _GLUED_PERCENT.search(text)]
    assert not glued, "ru writes 95\u00a0%, and a percentage placeholder gets fmt.percent (which brings its own %):\n" + "\n".join(map(str, glued))
    spaced = [(key, text) for key, text in _texts("ru") if _SPACED_PERCENT.search(text)]
    assert not spaced, "ru separates % from its number by a no-break space (U+00A0):\n" + "\n".join(map(str, spaced))
    assert t("funnel.col.ci", "ru") == f"95{NBSP}% ДИ" and t("funnel.col.ci", "en") == "95% CI"


def test_plural_messages_are_plural_in_both_languages_and_take_a_count():
    plural = [k for k, e in LABELS.items() if not isinstance(e["ru"], str)]
    assert len(plural) >= 8
    for key in plural:
        assert not isinstance(LABELS[key]["en"], str), key
    with pytest.raises(KeyError, match="n= or count="):
        t("stalls.actions_note", "ru", amount="1")


def test_labels_is_read_only_and_t_rejects_unknown_keys_and_languages():
    with pytest.raises(TypeError):
        LABELS["x.y"] = {"ru": "x", "en": "x"}  # type: ignore[index]
    with pytest.raises(TypeError):
        LABELS["index.title"]["ru"] = "x"  # type: ignore[index]
    assert has("index.title") and not has("index.nope")
    with pytest.raises(KeyError, match="index.nope"):
        t("index.nope", "en")
    from salesaudit.errors import SalesauditError

    with pytest.raises(SalesauditError, match="ru, en"):
        t("index.title", "de", client="x")


#: how code names a message key: a string literal that is the whole key (t("key", …),
#: show.heading("key", …), ("note.x", {...}), {"leads": "table.leads"}, …)
_LITERAL = re.compile(r"""(?<![\w.])["']([A-Za-z0-9_]+(?:\.[A-Za-z0-9_/]+)+)["']""")
#: a key built at run time: the constant part of an f-string before its first field
#: (t(f"reason.{code}", …) uses every reason.* key), or a literal joined with +
_PREFIX = re.compile(r"""\b[rR]?[fF][rR]?["']([A-Za-z0-9_]+(?:\.[A-Za-z0-9_/]+)*\.)\{""")
_CONCAT = re.compile(r"""["']([A-Za-z0-9_]+(?:\.[A-Za-z0-9_/]+)*\.)["']\s*\+""")
#: a call that takes a message key as its first argument
_CALL = re.compile(r"""(?:\bt|\b_t|show\.heading|show\.text|\bheading|\btext)\(\s*["']([^"'{}]+)["']""")


def _usage():
    literals, prefixes, called = set(), set(), set()
    for path, code in _sources():
        literals |= set(_LITERAL.findall(code))
        prefixes |= set(_PREFIX.findall(code)) | set(_CONCAT.findall(code))
        called |= {(path.name, k) for k in _CALL.findall(code)}
    return literals, prefixes, called


def test_no_message_is_unused():
    literals, prefixes, _ = _usage()
    assert {"reason.", "record.", "stalls.col.", "unit."} <= prefixes  # the scan finds the dynamic keys
    unused = [k for k in LABELS if k not in literals and not any(k.startswith(p) for p in prefixes)]
    assert not unused, f"messages no code uses (delete them, or use them): {unused}"


def test_every_key_the_code_names_exists():
    _, _, called = _usage()
    missing = sorted((where, k) for where, k in called if "." in k and not k.endswith(".") and not has(k))  # "prefix." + x is dynamic
    assert not missing, missing


# ---------------------------------------------------------------------------
# no number is formatted outside report/format.py

#: a format spec with grouping or a fixed precision in a replacement field: {x:,} {x:.1f} {x:.0%} {x:+.2f} {x:,.0f}
_SPEC = re.compile(r"\{[^{}\n]*?:(?P<spec>[+\- ]?#?0?\d*(?:,(?:\.\d+)?|,?\.\d+[fF%])[fFgGd%]?)\}")
#: the same spec handed to format() or a plotting call's fmt=
_CALL_SPEC = re.compile(r"""(?:\bformat\(|\bfmt=)[^()\n]*?["'](?P<spec>[+\- ]?,?(?:\.\d+)?[fF%]|,)["']""")
#: thousands made by hand: .replace(",", "\u00a0") and its thin-space kin
_REPLACE = re.compile(r"""\.replace\(\s*["'],["']\s*,\s*["'](?:\\u00a0|\\u202f|\\u2009|\\xa0|\u00a0|\u202f|\u2009)["']\s*\)""")

#: (module, the matched text) -> why it may format a number itself
ALLOWED = {
    ("runs/cli.py", "{nb.seconds:.1f}"): "the command line's progress log, in English by design (machine-readable output stays as it was)",
    ("data/params.py", "{value:.4f}"): "YAML reads a period or moment such as 10.2026 as a float: turned back into the text it was written as, not shown",
    ("synth/export.py", "{float(v):.2f}"): "the synthetic CRM export writes numbers the way a CRM does (machine input for the loader)",
    ("synth/__init__.py", "{years:.1f}"): "a developer's ValueError of the generator (a refused size), never on a client's page",
}


def _number_formatting() -> list[tuple[str, str, int]]:
    found = []
    for path in sorted(LIB.rglob("*.py")):
        rel = path.relative_to(LIB).as_posix()
        if rel == "report/format.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for rx in (_SPEC, _CALL_SPEC, _REPLACE):
                found += [(rel, m.group(0), i) for m in rx.finditer(line)]
    return found


def test_the_scan_finds_hand_made_number_formats():
    samples = ['f"{x:,.0f}"', 'f"{p:.1%}"', 'f"{v:.2f}"', 'f"{d:+.2f}"', '"{:,}".format(n)', 'format(x, ".1f")', 'sns.heatmap(m, fmt=".0%")',
               'text.replace(",", "\\u00a0")', 'text.replace(",", "\\u202f")']
    for s in samples:
        assert any(rx.search(s) for rx in (_SPEC, _CALL_SPEC, _REPLACE)), s
    for s in ['f"{x}"', 'f"{name!r}"', 'f"{w:<{width}}"', '"{:02d}".format(w)', 's.replace(",", " ")']:
        assert not any(rx.search(s) for rx in (_SPEC, _CALL_SPEC, _REPLACE)), s


def test_no_number_is_formatted_outside_report_format():
    found = _number_formatting()
    stray = [f"{rel}:{line}: {text}" for rel, text, line in found if (rel, text) not in ALLOWED]
    assert not stray, "format numbers with salesaudit.report.format (or allow-list with a reason):\n" + "\n".join(stray)
    stale = set(ALLOWED) - {(rel, text) for rel, text, _ in found}
    assert not stale, f"allow-list entries that match nothing any more: {sorted(stale)}"


# ---------------------------------------------------------------------------
# Babel's output for hand-picked values


@pytest.mark.parametrize(
    "call, ru, en",
    [
        (lambda lang: fmt.integer(35722878.4, lang), f"35{NBSP}722{NBSP}878", "35,722,878"),
        (lambda lang: fmt.number(35722878.4, lang, 0), f"35{NBSP}722{NBSP}878", "35,722,878"),
        (lambda lang: fmt.number(1234.5, lang, 2), f"1{NBSP}234,50", "1,234.50"),
        (lambda lang: fmt.number(0.1234, lang), "0,123", "0.123"),
        (lambda lang: fmt.number(-0.001, lang, 2), "0,00", "0.00"),
        (lambda lang: fmt.number(0.25, lang, 2, sign=True), "+0,25", "+0.25"),
        (lambda lang: fmt.percent(0.277, lang), f"27,7{NBSP}%", "27.7%"),
        (lambda lang: fmt.percent(0.5, lang, 0), f"50{NBSP}%", "50%"),
        (lambda lang: fmt.percent(-0.031, lang, 0, sign=True), f"-3{NBSP}%", "-3%"),
        (lambda lang: fmt.money(35722878.4, lang), f"35{NBSP}722{NBSP}878{NBSP}₽", f"RUB{NBSP}35,722,878"),
        (lambda lang: fmt.money(1500, lang, "USD", 2), f"1{NBSP}500,00{NBSP}$", "$1,500.00"),
        (lambda lang: fmt.money(35722878.4, lang, None), f"35{NBSP}722{NBSP}878", "35,722,878"),
        (lambda lang: fmt.date(dt.date(2026, 10, 31), lang), "31.10.2026", "31 Oct 2026"),
        (lambda lang: fmt.date("2026-01-05 17:00", lang), "05.01.2026", "5 Jan 2026"),
        (lambda lang: fmt.datetime_(dt.datetime(2026, 10, 31, 9, 5, 59), lang), "31.10.2026 09:05", "31 Oct 2026 09:05"),
        (lambda lang: i18n.duration(12.34, lang), "12,3 с", "12.3 s"),
        (lambda lang: i18n.duration(5400, lang), "1,5 ч", "1.5 h"),
        (lambda lang: i18n.duration(86400, lang, "d", 0), "1 день", "1 day"),
        (lambda lang: i18n.duration(5 * 86400, lang, "d", 0), "5 дней", "5 days"),
    ],
)
def test_babel_formats(call, ru, en):
    assert call("ru") == ru
    assert call("en") == en


@pytest.mark.parametrize("missing", [None, float("nan"), __import__("pandas").NaT, __import__("pandas").NA, __import__("numpy").nan])
def test_missing_values_show_a_dash(missing):
    for f in (fmt.number, fmt.integer, fmt.percent, fmt.money, fmt.date, fmt.datetime_, i18n.duration):
        assert f(missing, "ru") == "—" == f(missing, "en")


def test_aware_moments_keep_their_wall_time():
    import pandas as pd

    assert fmt.datetime_(pd.Timestamp("2026-10-31 23:30", tz="Europe/Moscow"), "ru") == "31.10.2026 23:30"


def test_russian_plural_forms_of_1_2_5_21():
    def headcount(n, lang="ru"):
        return t("capacity.headcount_answer", lang, n=n, target=fmt.percent(0.8, lang, 0), p=fmt.percent(0.9, lang, 0),
                 lo=fmt.percent(0.85, lang, 0), hi=fmt.percent(0.95, lang, 0), sure="")

    assert [plural_form(n, "ru") for n in (1, 2, 5, 21)] == ["one", "few", "many", "one"]
    assert "**1** менеджер (" in headcount(1)
    assert "**2** менеджера (" in headcount(2)
    assert "**5** менеджеров (" in headcount(5)
    assert "**21** менеджер (" in headcount(21)
    assert "**1** seller (" in headcount(1, "en") and "**21** sellers (" in headcount(21, "en")
    # a count already formatted for the reader picks the same form
    assert t("stalls.actions_note", "ru", n=fmt.integer(1021, "ru"), amount="x").startswith("Открытые сделки, которые уже стоят на текущей стадии дольше нормы: 1\u00a0021 сделка на x")
    assert t("dq.balanced_ok", "en", count=1, input="1", accepted="1", quarantined="0") == "Every table balances: 1 input row, 1 accepted, 0 quarantined."


def test_numbers_formatted_by_report_format_fill_the_messages():
    assert t("capacity.limit_answer", "ru", limit=5, mean=fmt.integer(1234567.8, "ru"), lo=fmt.integer(1e6, "ru"), hi=fmt.integer(2e6, "ru"),
             tied="—", mode="x").startswith(
        f"Наибольшая средняя выручка при лимите **5** (1{NBSP}234{NBSP}568, 95{NBSP}% ДИ 1{NBSP}000{NBSP}000–2{NBSP}000{NBSP}000)")
    signed = {k: fmt.number(v, "en", 2, sign=True) for k, v in {"delta": 0.125, "lo": -0.5, "hi": 1}.items()}
    assert t("capacity.overload_yes", "en", **signed) == "+0.13 to the win log-odds per +10 open deals (95 % CI -0.50…+1.00)."
    assert t("leads.overnight_text", "ru", n=3, decided=10, share=fmt.percent(0.3, "ru", 1)).endswith(f"**3** из 10 лидов (**30,0{NBSP}%**).")
    # a percentage given in percent units (a scheme's 90) is a share for fmt.percent: its % comes with it
    ru = t("incentives.desc.kpi", "ru", kpi="k", weight=fmt.percent(0.5, "ru", 0), threshold=fmt.percent(80 / 100, "ru", 3, trim=True),
           acc=fmt.number(1.5, "ru"), cap=fmt.percent(112.5 / 100, "ru", 3, trim=True))
    assert ru == f"k — вес 50{NBSP}%, порог 80{NBSP}%, ускоритель ×1,5, потолок 112,5{NBSP}%"
    en = t("incentives.desc.kpi", "en", kpi="k", weight=fmt.percent(0.5, "en", 0), threshold=fmt.percent(80 / 100, "en", 3, trim=True),
           acc=fmt.number(1.5, "en"), cap=fmt.percent(112.5 / 100, "en", 3, trim=True))
    assert en == "k: weight 50%, threshold 80%, accelerator ×1.5, cap 112.5%"
    assert t("dq.no_table", "en", table="Deals") == "The export has no Deals table: this section is skipped."  # other placeholders as str.format


def test_tables_show_yes_no_never_python_booleans():
    import pandas as pd

    from salesaudit.report.show import _yes_no

    df = pd.DataFrame({"flag": [True, False], "maybe": pd.Series([True, None], dtype=object), "n": [1, 2]})
    ru, en = _yes_no(df, "ru"), _yes_no(df, "en")
    assert ru["flag"].tolist() == ["да", "нет"] and en["flag"].tolist() == ["yes", "no"]
    assert en["maybe"].iloc[0] == "yes" and pd.isna(en["maybe"].iloc[1])  # a blank stays blank (shown as —)
    assert en["n"].tolist() == [1, 2]
