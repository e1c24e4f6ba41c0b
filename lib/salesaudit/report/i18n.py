"""Report messages in both languages (ru, en): the catalogue ``report/messages/<lang>.yaml``.

Each catalogue is one flat mapping ``key: text``; the keys are dotted and grouped by their prefix
(``index.*`` for the run's index page, …), and ru.yaml and en.yaml hold the same keys. A text may
hold ``str.format`` placeholders, filled by :func:`t`:

>>> t("index.title", "en", client="Demo")
'Sales audit: Demo'
>>> t("index.status.failed", "ru")
'ошибка'

A message that prints a count followed by a noun is a mapping of plural forms instead of a text
(ru: ``one``, ``few``, ``many``, ``other``; en: ``one``, ``other``); the ``n`` (or ``count``)
argument picks the form by the language's CLDR plural rules (Babel):

>>> [t("capacity.headcount_answer", "ru", n=n, target="80\\xa0%", p="90\\xa0%", lo="80\\xa0%", hi="95\\xa0%", sure="").split("**")[2][1:10] for n in (1, 2, 5, 21)]
['менеджер ', 'менеджера', 'менеджеро', 'менеджер ']

A text holds words only: every number, percentage, amount, date and duration in it arrives as a
placeholder already formatted by :mod:`salesaudit.report.format` in the message's language (a
placeholder has no format spec, and a ru text writes a literal percentage as ``95 %`` with a
no-break space), so a number in a sentence looks as it does in a table:

>>> from salesaudit.report.format import number
>>> t("capacity.overload_yes", "ru", delta=number(0.125, "ru", 2, sign=True), lo=number(-0.5, "ru", 2, sign=True), hi=number(1, "ru", 2, sign=True))
'+0,13 к лог-шансам выигрыша на +10 открытых сделок (95\\xa0% ДИ -0,50…+1,00).'
"""
from __future__ import annotations

import numbers
from importlib import resources
from types import MappingProxyType
from typing import Mapping, Union

import numpy as np
import yaml

from ..errors import SalesauditError, closest
from . import format as _format

__all__ = ["LANGUAGES", "PLURAL_FORMS", "PLURAL_ARGS", "LABELS", "t", "has", "plural_form", "duration"]

LANGUAGES = ("ru", "en")
#: the CLDR plural categories a plural message gives, per language
PLURAL_FORMS = {"ru": ("one", "few", "many", "other"), "en": ("one", "other")}
#: the arguments that choose a plural form, in order of preference
PLURAL_ARGS = ("n", "count")

Message = Union[str, Mapping[str, str]]


def _load() -> dict[str, dict[str, Message]]:
    folder = resources.files(__package__) / "messages"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    per_lang = {lang: yaml.load((folder / f"{lang}.yaml").read_text(encoding="utf-8"), Loader=loader) for lang in LANGUAGES}
    first = per_lang[LANGUAGES[0]]
    for lang in LANGUAGES[1:]:
        if set(per_lang[lang]) != set(first):  # pragma: no cover - a broken catalogue, caught by the tests
            diff = sorted(set(per_lang[lang]) ^ set(first))
            raise RuntimeError(f"the message catalogues ru.yaml and en.yaml hold different keys: {', '.join(diff[:10])}")
    return {key: {lang: per_lang[lang][key] for lang in LANGUAGES} for key in first}


def _frozen(entry: dict) -> Mapping:
    return MappingProxyType({lang: MappingProxyType(dict(v)) if isinstance(v, dict) else v for lang, v in entry.items()})


#: every message: key -> {"ru": text, "en": text} (a text may be a mapping of plural forms); read-only
LABELS: Mapping[str, Mapping[str, Message]] = MappingProxyType({key: _frozen(entry) for key, entry in _load().items()})


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise SalesauditError(
            f"Unknown report language {lang!r}.{closest(lang, LANGUAGES)} "
            f"Allowed languages: {', '.join(LANGUAGES)}."
        )
    return lang


def has(key: str) -> bool:
    """Whether ``key`` is a known label."""
    return key in LABELS


def plural_form(value, lang: str) -> str:
    """The CLDR plural category of ``value`` in ``lang`` (``one``, ``few``, ``many``, ``other``).

    ``value`` may be a number or a number already formatted for ``lang`` (``"1 234"``, ``"2,5"``).

    >>> [plural_form(n, "ru") for n in (1, 2, 5, 21, "1\\xa0001", "2,5")], plural_form(1, "en")
    (['one', 'few', 'many', 'one', 'one', 'other'], 'one')
    """
    loc = _format._locale(_check_lang(lang))
    if isinstance(value, str):
        from babel.numbers import NumberFormatError, parse_decimal

        try:
            value = parse_decimal(value.strip(), locale=loc, strict=False)
        except (NumberFormatError, ValueError):
            return "other"
    elif isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real):
        value = int(value) if float(value).is_integer() else float(value)
    else:
        return "other"
    return loc.plural_form(abs(value))


def t(key: str, lang: str, **fmt) -> str:
    """The label ``key`` in ``lang``, with ``fmt`` filled into its placeholders.

    A plural message picks its form by ``fmt["n"]`` (or ``fmt["count"]``), a number or a count
    already formatted for ``lang``. The placeholders are filled as ``str.format`` does: pass every
    number formatted by :mod:`salesaudit.report.format`; a whole number (``int``) passed as it is
    is grouped for ``lang`` by :func:`salesaudit.report.format.integer` (``3 177``, ``3,177``). An unknown key raises :class:`KeyError`
    naming it; an unknown language raises :class:`~salesaudit.errors.SalesauditError` listing ru
    and en.
    """
    _check_lang(lang)
    try:
        entry = LABELS[key]
    except KeyError:
        raise KeyError(f"unknown label key {key!r}.{closest(key, LABELS)}") from None
    text = entry[lang]
    if not isinstance(text, str):
        arg = next((a for a in PLURAL_ARGS if a in fmt), None)
        if arg is None:
            raise KeyError(f"label {key!r} has plural forms: pass the count as n= or count=")
        forms = text
        text = forms.get(plural_form(fmt[arg], lang)) or forms["other"]
    if not fmt:
        return text
    fmt = {k: (_format.integer(v, lang) if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) else v)
           for k, v in fmt.items()}
    return text.format(**fmt)


def duration(seconds, lang: str, unit: str | None = None, digits: int = 1) -> str:
    """A duration given in seconds, in ``unit`` (``s``, ``min``, ``h``, ``d``; None: the largest
    unit the value reaches), the number formatted by :mod:`salesaudit.report.format` and the unit
    word from the catalogue (a message, so it lives here: the format module needs no catalogue).

    >>> duration(90, "en"), duration(90, "ru", "s", 0), duration(86400, "en", "d"), duration(1, "ru", "d", 0)
    ('1.5 min', '90 с', '1.0 days', '0 дней')
    """
    if _format.missing(seconds):
        return _format.DASH
    if unit is None:
        s = abs(float(seconds))
        unit = "d" if s >= 86400 else "h" if s >= 3600 else "min" if s >= 60 else "s"
    if unit not in _format.DURATION_UNITS:
        raise ValueError(f"unknown duration unit {unit!r}; use one of {', '.join(_format.DURATION_UNITS)}")
    return t(f"unit.{unit}", lang, n=_format.number(float(seconds) / _format.DURATION_UNITS[unit], lang, digits))
