"""Labels of the load verdict (salesaudit.data.verdict) and the loader's notes; merged into :data:`salesaudit.report.i18n.LABELS`."""

LABELS_VERDICT: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------
    # problem.*: one paragraph per load problem (verdict.py); {file} is the export file
    "problem.severity.fatal": {"ru": "Загрузка отклонена", "en": "Load refused"},
    "problem.severity.warning": {"ru": "Предупреждение", "en": "Warning"},
    "problem.deals_missing": {
        "ru": "Нет таблицы сделок: ни один файл в папке {folder} не подходит под шаблоны {patterns}, хотя другие таблицы ({present}) загружены. Без сделок аудит невозможен. Как исправить: положите выгрузку сделок в папку (или переименуйте её под шаблон) либо укажите имя файла в `files: deals:` параметров запуска. В папке: {files}.",
        "en": "The deals table is missing: no file in {folder} matches {patterns}, although other tables ({present}) were loaded. The audit cannot run without deals. How to fix: put the deals export in the folder (or rename it to match), or name the file under `files: deals:` in the run config. The folder holds: {files}.",
    },
    "problem.table_empty": {
        "ru": "В таблице «{table}» ({file}) нет ни одной принятой строки: строк на входе {input}, в карантине {quarantined}{why}. Аудит на ней невозможен. Как исправить: выгрузите таблицу заново со строками данных и проверьте карантин в разделе качества данных.",
        "en": "The table “{table}” ({file}) has no accepted row: {input} input rows, {quarantined} quarantined{why}. The audit cannot run on it. How to fix: export the table again with its data rows, and check the quarantine on the data-quality page.",
    },
    "problem.table_empty.why": {"ru": " (чаще всего: {reason})", "en": " (mostly: {reason})"},
    "problem.column_missing": {
        "ru": "В файле {file} нет столбца «{column}» ({table_key}.{canonical}), без которого аудит не построить: {why}. Как исправить: выгрузите этот столбец из CRM или укажите его имя в `tables.{table_key}.columns.{canonical}` пресета {preset}. Столбцы файла: {columns}.",
        "en": "The file {file} has no column “{column}” ({table_key}.{canonical}), which the audit needs: {why}. How to fix: export that column from the CRM, or name it under `tables.{table_key}.columns.{canonical}` in preset {preset}. The file's columns: {columns}.",
    },
    "problem.column_empty": {
        "ru": "В файле {file} столбец «{column}» ({table_key}.{canonical}) пуст во всех {rows} строках, а аудит без него невозможен: {why}. Как исправить: выгрузите его заполненным или укажите в пресете {preset} другой столбец (`tables.{table_key}.columns.{canonical}`).",
        "en": "In {file} the column “{column}” ({table_key}.{canonical}) is empty in all {rows} rows, and the audit needs it: {why}. How to fix: export it filled in, or map another column in preset {preset} (`tables.{table_key}.columns.{canonical}`).",
    },
    "problem.why.manager": {"ru": "по нему сравниваются менеджеры", "en": "managers are compared by it"},
    "problem.no_file": {
        "ru": "Таблица «{table}» не загружена: ни один файл в папке {folder} не подходит под шаблоны {patterns}. Разделы, которым она нужна, будут пропущены. Как исправить: положите файл в папку, переименуйте его под шаблон или укажите имя в `files: {table_key}:` параметров запуска. В папке: {files}.",
        "en": "The table “{table}” was not loaded: no file in {folder} matches {patterns}. Sections that need it will be skipped. How to fix: put the file in the folder, rename it to match, or name it under `files: {table_key}:` in the run config. The folder holds: {files}.",
    },
    "problem.quarantine_share": {
        "ru": "{share} строк таблицы «{table}» ({n} из {input}, {file}) в карантине по причине «{reason}». Чаще всего: {values}.",
        "en": "{share} of the rows of “{table}” ({n} of {input}, {file}) are quarantined as “{reason}”. Most frequent values: {values}.",
    },
    "problem.quarantine_share.fix_stage": {
        "ru": " Похоже на воронку другого портала или направления. Как исправить: выберите нужную воронку (`funnel:`) или сопоставьте стадии в параметрах запуска, заменив ___ ключом стадии ({keys}):\n{lines}",
        "en": " This looks like another portal's or pipeline's funnel. How to fix: choose the right funnel (`funnel:`), or map the stages in the run config, replacing ___ with a stage key ({keys}):\n{lines}",
    },
    "problem.quarantine_share.fix": {
        "ru": " Как исправить: посмотрите примеры строк в разделе качества данных и исправьте выгрузку или пресет {preset}.",
        "en": " How to fix: look at the example rows on the data-quality page and correct the export or preset {preset}.",
    },
    "problem.field_empty": {
        "ru": "Поле «{column}» сделок пусто в {share} строк ({n} из {rows}, {file}); выводы по нему ненадёжны. Как исправить: попросите отдел заполнять его или выгрузите столбец, где оно заполнено (`tables.deals.columns.{canonical}` пресета {preset}).",
        "en": "The deals field “{column}” is empty in {share} of the rows ({n} of {rows}, {file}); findings that use it are unreliable. How to fix: have the department fill it in, or export the column that holds it (`tables.deals.columns.{canonical}` in preset {preset}).",
    },
    "problem.history_sparse": {
        "ru": "История стадий есть лишь у {share} сделок ({n} из {deals}); время в стадиях и пропуски стадий оцениваются только по ним. Как исправить: выгрузите историю стадий целиком (Битрикс24: crm.stagehistory.list; amoCRM: события смены этапа).",
        "en": "Only {share} of the deals ({n} of {deals}) have a stage history; time in stage and skipped stages are judged on those alone. How to fix: export the whole stage history (Bitrix24: crm.stagehistory.list; amoCRM: stage-change events).",
    },
    "problem.pipelines": {
        "ru": "В выгрузке сделки нескольких воронок: {pipelines}. Аудит смешает их в одну воронку. Как исправить: выберите одну в параметрах запуска, например `pipeline: {first}`.",
        "en": "The export holds deals of several pipelines: {pipelines}. The audit mixes them into one funnel. How to fix: choose one in the run config, e.g. `pipeline: {first}`.",
    },
    "problem.currencies": {
        "ru": "Суммы сделок в нескольких валютах: {currencies}. Валюта отчёта: {currency}. {what}",
        "en": "Deal amounts are in several currencies: {currencies}. The report's currency: {currency}. {what}",
    },
    "problem.currencies.converted": {
        "ru": "Суммы в других валютах пересчитаны по курсам из параметров ({rates}).",
        "en": "Amounts in other currencies were converted at the run config's rates ({rates}).",
    },
    "problem.currencies.quarantined": {
        "ru": "{n} сделок в валютах без курса ({missing}) в карантине: с суммами в {currency} они не складываются. Как исправить: задайте курсы в параметрах запуска, например `exchange_rates: {{{example}}}`.",
        "en": "{n} deals in currencies without a rate ({missing}) are quarantined: they are never added to {currency}. How to fix: give the rates in the run config, e.g. `exchange_rates: {{{example}}}`.",
    },
    "problem.calendar_years": {
        "ru": "Даты за {years} лежат вне лет производственного календаря ({covered}): праздники и переносы этих лет не учтены, будни считаются рабочими. Как исправить: обновите пакет holidays или перечислите нерабочие дни в `lead_response.calendar.holidays`.",
        "en": "Dates in {years} lie outside the production calendar's years ({covered}): their holidays and transferred days are not known, and weekdays count as working days. How to fix: upgrade the holidays package, or list the days off under `lead_response.calendar.holidays`.",
    },
    "dq.load_warnings": {"ru": "Предупреждения о загрузке ({n})", "en": "Load warnings ({n})"},
    "problem.none": {"ru": "Замечаний к загрузке нет.", "en": "The load raised no problems."},
    "problem.timezone": {"ru": "Часовой пояс всех дат: {timezone}.", "en": "Timezone of every timestamp: {timezone}."},
    # ------------------------------------------------------------------
    # reason.* and note.* added by the verdict work (loader.py)
    "reason.other_pipeline": {"ru": "сделка другой воронки", "en": "deal of another pipeline"},
    "reason.other_currency": {"ru": "сумма в валюте без курса", "en": "amount in a currency without a rate"},
    "note.payments_converted": {
        "ru": "Оплаты по сделкам в других валютах ({n}) пересчитаны в {currency} по курсам из параметров.",
        "en": "Payments of deals in other currencies ({n}) were converted to {currency} at the run config's rates.",
    },
    "note.read_by_content.csv": {
        "ru": "Файл {file} на самом деле CSV-текст, а не то, что обещает его расширение: он прочитан по содержимому.",
        "en": "The file {file} is in fact CSV text, not what its ending says: it was read by its content.",
    },
    "note.read_by_content.xlsx": {
        "ru": "Файл {file} на самом деле книга Excel (XLSX), а не то, что обещает его расширение: он прочитан по содержимому.",
        "en": "The file {file} is in fact an Excel workbook (XLSX), not what its ending says: it was read by its content.",
    },
    "note.read_by_content.html": {
        "ru": "Файл {file} на самом деле HTML-таблица, а не то, что обещает его расширение: он прочитан как таблица.",
        "en": "The file {file} is in fact an HTML table, not what its ending says: it was read as a table.",
    },
    "note.read_by_content.parquet": {
        "ru": "Файл {file} на самом деле файл Parquet, а не то, что обещает его расширение: он прочитан по содержимому.",
        "en": "The file {file} is in fact a Parquet file, not what its ending says: it was read by its content.",
    },
    "note.deals_converted": {
        "ru": "Суммы {n} сделок в других валютах пересчитаны в {currency}: {rates}.",
        "en": "The amounts of {n} deals in other currencies were converted to {currency}: {rates}.",
    },
}
