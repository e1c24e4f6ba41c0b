"""Report labels in both languages (ru, en).

``LABELS`` is one flat table: a dotted label key maps to ``{"ru": ..., "en": ...}``.
Keys are grouped by their prefix (``index.*`` for the run's index page, …);
add new groups as new commented blocks. Texts may hold ``str.format``
placeholders, filled by :func:`t`:

>>> t("index.title", "en", client="Demo")
'Sales audit: Demo'
>>> t("index.status.failed", "ru")
'ошибка'
"""
from __future__ import annotations

from ..errors import SalesauditError, closest

__all__ = ["LANGUAGES", "LABELS", "t", "has"]

LANGUAGES = ("ru", "en")

LABELS: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------
    # index.*: the run's index page (reports/<client>/index.html), runner.py
    "index.title": {"ru": "Аудит отдела продаж: {client}", "en": "Sales audit: {client}"},
    "index.period": {"ru": "Период", "en": "Period"},
    "index.period.all": {"ru": "все данные", "en": "all data"},
    "index.date": {"ru": "Дата аудита", "en": "Audit date"},
    "index.generated": {"ru": "Сформировано {when}", "en": "Generated {when}"},
    "index.summary": {
        "ru": "Разделов: {total}; готово: {ok}; с ошибкой: {failed}",
        "en": "Sections: {total}; ok: {ok}; failed: {failed}",
    },
    "index.notebook": {"ru": "Раздел", "en": "Section"},
    "index.status": {"ru": "Статус", "en": "Status"},
    "index.status.ok": {"ru": "готово", "en": "ok"},
    "index.status.failed": {"ru": "ошибка", "en": "failed"},
    "index.error": {"ru": "Ошибка", "en": "Error"},
    "index.open": {"ru": "Открыть отчёт", "en": "Open the report"},
    "index.no_html": {"ru": "HTML-отчёт не создан", "en": "No HTML report was written"},
    "index.seconds": {"ru": "{seconds:.1f} с", "en": "{seconds:.1f} s"},
    "index.key_results": {"ru": "Ключевые показатели", "en": "Key results"},
    "index.no_key_results": {"ru": "Нет ключевых показателей", "en": "No key results"},
    "index.key": {"ru": "Показатель", "en": "Measure"},
    "index.value": {"ru": "Значение", "en": "Value"},
    "index.yes": {"ru": "да", "en": "yes"},
    "index.periods": {"ru": "Отчёты по периодам ({grain}): с {first} по {last}", "en": "Reports per period ({grain}): {first} to {last}"},
    "index.periods_summary": {"ru": "Периодов: {total}; готово: {ok}; с ошибкой: {failed}", "en": "Periods: {total}; ok: {ok}; failed: {failed}"},
    "index.grain.day": {"ru": "день", "en": "day"},
    "index.grain.week": {"ru": "неделя", "en": "week"},
    "index.grain.month": {"ru": "месяц", "en": "month"},
    "index.no": {"ru": "нет", "en": "no"},
    # ------------------------------------------------------------------
    # runner.*: messages of the run itself, runner.py
    "runner.html_failed": {
        "ru": "Не удалось сохранить HTML-отчёт: {error}",
        "en": "Could not write the HTML report: {error}",
    },
    # ------------------------------------------------------------------
    # record.*: key results shown on the index page (notebook 00: quality.summary)
    "record.tables_loaded": {"ru": "Загруженные таблицы", "en": "Tables loaded"},
    "record.rows_input": {"ru": "Строк на входе", "en": "Input rows"},
    "record.rows_accepted": {"ru": "Принято строк", "en": "Rows accepted"},
    "record.rows_quarantined": {"ru": "Строк в карантине", "en": "Rows quarantined"},
    "record.all_balanced": {"ru": "Строки сходятся", "en": "Rows balance"},
    "record.deals_with_empty_required_field": {"ru": "Сделок с пустыми обязательными полями", "en": "Deals with an empty required field"},
    "record.deals_first_created": {"ru": "Первая сделка создана", "en": "First deal created"},
    "record.deals_last_created": {"ru": "Последняя сделка создана", "en": "Last deal created"},
    # ------------------------------------------------------------------
    # table.*: canonical tables (model.py)
    "table.managers": {"ru": "Сотрудники", "en": "Managers"},
    "table.leads": {"ru": "Лиды", "en": "Leads"},
    "table.deals": {"ru": "Сделки", "en": "Deals"},
    "table.stage_history": {"ru": "История стадий", "en": "Stage history"},
    "table.activities": {"ru": "Дела (звонки, задачи, встречи)", "en": "Activities (calls, tasks, meetings)"},
    "table.payments": {"ru": "Оплаты", "en": "Payments"},
    "table.plans": {"ru": "Планы", "en": "Plans"},
    # ------------------------------------------------------------------
    # reason.*: quarantine reasons (loader.REASONS)
    "reason.empty_row": {"ru": "пустая строка", "en": "empty row"},
    "reason.bad_shape": {"ru": "в строке больше значений, чем столбцов", "en": "more values than columns"},
    "reason.missing_id": {"ru": "нет идентификатора", "en": "missing id"},
    "reason.bad_date": {"ru": "дата не распознана", "en": "unparseable date"},
    "reason.bad_number": {"ru": "число не распознано", "en": "unparseable number"},
    "reason.bad_value": {"ru": "недопустимое значение", "en": "value not allowed"},
    "reason.missing_value": {"ru": "не заполнено обязательное поле", "en": "required value missing"},
    "reason.future_date": {"ru": "дата в будущем", "en": "date in the future"},
    "reason.negative_amount": {"ru": "отрицательная сумма", "en": "negative amount"},
    "reason.out_of_range": {"ru": "число вне допустимого диапазона", "en": "number out of range"},
    "reason.unknown_stage": {"ru": "стадии нет в воронке", "en": "stage not in the funnel"},
    "reason.closed_before_created": {"ru": "сделка закрыта раньше, чем создана", "en": "closed before created"},
    "reason.response_before_created": {"ru": "ответ раньше поступления лида", "en": "answered before it arrived"},
    "reason.inconsistent_outcome": {"ru": "итог противоречит стадии", "en": "outcome contradicts the stage"},
    "reason.duplicate_exact": {"ru": "точный дубль строки", "en": "exact duplicate"},
    "reason.duplicate_conflict": {"ru": "дубль ID с разными значениями", "en": "duplicate id, conflicting values"},
    "reason.unknown_deal": {"ru": "ссылка на несуществующую сделку", "en": "refers to an unknown deal"},
    "reason.deal_quarantined": {"ru": "сделка сама в карантине", "en": "its deal is quarantined"},
    # ------------------------------------------------------------------
    # dq.*: notebook 00, data quality (quality.py)
    "dq.nb_title": {"ru": "Качество данных", "en": "Data quality"},
    "dq.title": {"ru": "Качество данных: {client}", "en": "Data quality: {client}"},
    "dq.intro": {
        "ru": "Выгрузка `{data}`, пресет CRM `{preset}`, дата аудита {as_of}. Каждая строка выгрузки либо принята, либо помещена в карантин с причиной; ничего не отброшено молча.",
        "en": "Export `{data}`, CRM preset `{preset}`, audit moment {as_of}. Every row of the export is either accepted or quarantined with a reason; nothing is dropped silently.",
    },
    "dq.loaded": {"ru": "Что загружено", "en": "What was loaded"},
    "dq.reconciliation": {"ru": "Сверка строк: на входе = принято + карантин", "en": "Row reconciliation: input = accepted + quarantined"},
    "dq.balanced_ok": {"ru": "Все таблицы сходятся: {input} строк на входе, {accepted} принято, {quarantined} в карантине.",
                       "en": "Every table balances: {input} input rows, {accepted} accepted, {quarantined} quarantined."},
    "dq.balanced_bad": {"ru": "ВНИМАНИЕ: строки не сходятся в таблицах: {tables}.", "en": "WARNING: rows do not balance in: {tables}."},
    "dq.quarantine": {"ru": "Карантин: причины", "en": "Quarantine: reasons"},
    "dq.no_quarantine": {"ru": "Карантин пуст: все строки приняты.", "en": "The quarantine is empty: every row was accepted."},
    "dq.examples": {"ru": "Примеры строк в карантине (как в выгрузке)", "en": "Quarantined rows, as they were in the export"},
    "dq.example_of": {"ru": "**{reason}** (`{code}`)", "en": "**{reason}** (`{code}`)"},
    "dq.completeness": {"ru": "Заполненность карточек сделок", "en": "Deal card completeness"},
    "dq.empty_cards": {"ru": "Пустые карточки по менеджерам (обязательные поля: {fields})", "en": "Empty deal cards per manager (required fields: {fields})"},
    "dq.dates": {"ru": "Период данных", "en": "Date ranges"},
    "dq.stages": {"ru": "Сопоставление стадий CRM с воронкой", "en": "CRM stage names mapped to the funnel"},
    "dq.references": {"ru": "Ссылки в никуда", "en": "Links that point nowhere"},
    "dq.no_table": {"ru": "Таблицы «{table}» нет в выгрузке: этот раздел пропущен.", "en": "The export has no {table} table: this section is skipped."},
    "dq.notes": {"ru": "Примечания загрузчика", "en": "Loader notes"},
    "note.closed_at_from_history": {
        "ru": "Дата закрытия взята из истории стадий для {n} закрытых сделок, у которых в выгрузке её не было.",
        "en": "closed_at was taken from the stage history for {n} closed deal(s) whose export had none.",
    },
    "dq.status.loaded": {"ru": "загружена", "en": "loaded"},
    "dq.status.not_in_preset": {"ru": "нет в пресете", "en": "not in the preset"},
    "dq.status.no_file": {"ru": "файл не найден", "en": "no file"},
    "dq.col.table": {"ru": "Таблица", "en": "Table"},
    "dq.col.status": {"ru": "Статус", "en": "Status"},
    "dq.col.files": {"ru": "Файлы", "en": "Files"},
    "dq.col.file": {"ru": "Файл", "en": "File"},
    "dq.col.row": {"ru": "Строка", "en": "Row"},
    "dq.col.accepted": {"ru": "Принято", "en": "Accepted"},
    "dq.col.input": {"ru": "На входе", "en": "Input"},
    "dq.col.quarantined": {"ru": "Карантин", "en": "Quarantined"},
    "dq.col.share_quarantined": {"ru": "Доля карантина", "en": "Share quarantined"},
    "dq.col.balanced": {"ru": "Сходится", "en": "Balanced"},
    "dq.col.mapped": {"ru": "Столбцов сопоставлено", "en": "Columns mapped"},
    "dq.col.missing_optional": {"ru": "Нет в выгрузке", "en": "Not in the export"},
    "dq.col.reason": {"ru": "Причина", "en": "Reason"},
    "dq.col.code": {"ru": "Код", "en": "Code"},
    "dq.col.rows": {"ru": "Строк", "en": "Rows"},
    "dq.col.column": {"ru": "Поле", "en": "Column"},
    "dq.col.value": {"ru": "Значение", "en": "Value"},
    "dq.col.required": {"ru": "Обязательное", "en": "Required"},
    "dq.col.in_export": {"ru": "Есть в выгрузке", "en": "In the export"},
    "dq.col.filled": {"ru": "Заполнено", "en": "Filled"},
    "dq.col.manager": {"ru": "Менеджер", "en": "Manager"},
    "dq.col.name": {"ru": "Имя", "en": "Name"},
    "dq.col.deals": {"ru": "Сделок", "en": "Deals"},
    "dq.col.empty_cards": {"ru": "С пустыми полями", "en": "With empty fields"},
    "dq.col.share_empty": {"ru": "Доля", "en": "Share"},
    "dq.col.missing_field": {"ru": "Пусто: {field}", "en": "Empty: {field}"},
    "dq.col.first": {"ru": "С", "en": "From"},
    "dq.col.last": {"ru": "По", "en": "To"},
    "dq.col.source_stage": {"ru": "Стадия в CRM", "en": "CRM stage"},
    "dq.col.stage_key": {"ru": "Ключ", "en": "Key"},
    "dq.col.stage": {"ru": "Стадия воронки", "en": "Funnel stage"},
    "dq.col.check": {"ru": "Проверка", "en": "Check"},
    "dq.col.broken": {"ru": "Битых ссылок", "en": "Broken links"},
    "dq.col.of": {"ru": "Из", "en": "Of"},
    "dq.check.deal": {"ru": "сделка не найдена", "en": "deal not found"},
    "dq.check.manager": {"ru": "сотрудника нет в справочнике", "en": "manager not in the managers table"},
    "dq.unknown_stage": {"ru": "нет в воронке", "en": "not in the funnel"},
    "dq.no_manager": {"ru": "(не указан)", "en": "(none)"},
    "dq.won_deals": {"ru": "Выигранные сделки", "en": "Won deals"},
    "dq.plot.quarantine": {"ru": "Строки в карантине по причинам", "en": "Quarantined rows by reason"},
    "dq.plot.completeness": {"ru": "Доля заполненных полей сделки", "en": "Share of deal fields filled"},
    "dq.plot.not_in_export": {"ru": "Нет в выгрузке: {columns}", "en": "Not in the export: {columns}"},
    "dq.plot.monthly": {"ru": "Строк в месяц", "en": "Rows per month"},
    # ------------------------------------------------------------------
    # coverage.* and run.*: period coverage and run messages (runner.py)
    "coverage.partial": {
        "ru": "Период {period} покрыт данными частично: с {start} по {end}.",
        "en": "The period {period} is only partly covered by the data: {start} to {end}.",
    },
    "coverage.outside": {
        "ru": "Период {period} лежит вне данных: выгрузка охватывает {first} – {last} (первая и последняя строка с датой). "
              "Как исправить: выберите период внутри этого диапазона (--period) или выгрузите данные за {period}.",
        "en": "The period {period} lies outside the data: the export covers {first} – {last} (first and last dated row). "
              "How to fix: choose a period inside that range with --period, or export the data for {period}.",
    },
    "coverage.range_outside": {
        "ru": "Все периоды {periods} лежат вне данных: выгрузка охватывает {first} – {last} (первая и последняя строка с датой). "
              "Как исправить: выберите периоды внутри этого диапазона (--periods) или выгрузите данные за {periods}.",
        "en": "All periods {periods} lie outside the data: the export covers {first} – {last} (first and last dated row). "
              "How to fix: choose periods inside that range with --periods, or export the data for {periods}.",
    },
    "coverage.no_dates": {
        "ru": "Период {period} нельзя проверить: в выгрузке нет ни одной строки с датой (сделки, лиды, смены стадий, дела, оплаты). "
              "Как исправить: проверьте выгрузку и столбцы дат в пресете CRM.",
        "en": "The period {period} cannot be audited: the export holds no dated row (deals, leads, stage changes, activities, payments). "
              "How to fix: check the export and the date columns of the CRM preset.",
    },
    "run.load_warnings": {"ru": "Предупреждения о данных", "en": "Data warnings"},
    "run.failed": {"ru": "Раздел {notebook} завершился с ошибкой: {error}", "en": "Notebook {notebook} failed: {error}"},
    "run.failed_cell": {
        "ru": "Раздел {notebook} завершился с ошибкой в ячейке {cell}: {error}",
        "en": "Notebook {notebook} failed in cell {cell}: {error}",
    },
    "run.failed_cell_heading": {
        "ru": "Раздел {notebook} завершился с ошибкой в ячейке {cell} («{heading}»): {error}",
        "en": "Notebook {notebook} failed in cell {cell} (\"{heading}\"): {error}",
    },
}


# analysis modules keep their labels beside them; one table serves the reports
from ._labels_capacity import LABELS_CAPACITY  # noqa: E402
from ._labels_funnel import LABELS_FUNNEL  # noqa: E402
from ._labels_hygiene import LABELS_HYGIENE  # noqa: E402
from ._labels_incentives import LABELS_INCENTIVES  # noqa: E402
from ._labels_leads import LABELS_LEADS  # noqa: E402
from ._labels_meeting import LABELS_MEETING  # noqa: E402
from ._labels_planfact import LABELS_PLANFACT  # noqa: E402
from ._labels_scorecard import LABELS_SCORECARD  # noqa: E402
from ._labels_stalls import LABELS_STALLS  # noqa: E402
from ._labels_verdict import LABELS_VERDICT  # noqa: E402

for _extra in (LABELS_FUNNEL, LABELS_STALLS, LABELS_LEADS, LABELS_PLANFACT, LABELS_HYGIENE, LABELS_SCORECARD, LABELS_MEETING, LABELS_INCENTIVES, LABELS_CAPACITY, LABELS_VERDICT):
    _clash = sorted(set(_extra) & set(LABELS))
    if _clash:  # pragma: no cover - a programming error, caught by the tests
        raise RuntimeError(f"label keys defined twice: {', '.join(_clash)}")
    LABELS.update(_extra)


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


def t(key: str, lang: str, **fmt) -> str:
    """The label ``key`` in ``lang``, with ``fmt`` filled into its placeholders.

    An unknown key raises :class:`KeyError` naming it; an unknown language
    raises :class:`~salesaudit.errors.SalesauditError` listing ru and en.
    """
    _check_lang(lang)
    try:
        entry = LABELS[key]
    except KeyError:
        raise KeyError(f"unknown label key {key!r}.{closest(key, LABELS)}") from None
    text = entry[lang]
    return text.format(**fmt) if fmt else text
