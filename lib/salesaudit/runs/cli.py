"""The ``salesaudit`` command.

``salesaudit run --config params/clients/demo.yaml [--period 2026-10] [--language en] ...``
executes the audit notebooks and prints where the report is;
``salesaudit check --config ...`` loads the data and prints the reconciliation.
``salesaudit run ... --pdf`` also prints the report into ``audit.pdf`` in the output folder
(each period's folder with ``--periods``; :mod:`salesaudit.runs.pdf`): Playwright and Chromium are
checked before any notebook runs, and a missing one stops the run with exit code 2.

Exit codes: 0 all notebooks succeeded, 1 some notebook failed, 2 a problem with
the input (the message alone is printed, never a traceback; argparse's own
usage errors also exit with 2).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from ..data.params import GRAINS, LANGUAGES, parse_period
from ..errors import SalesauditError

__all__ = ["main", "build_parser"]


def _period(text: str) -> str:
    try:
        parse_period(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("salesaudit")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesaudit",
        description="Audit a sales department from a CRM export: run the audit notebooks for a client's run config.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p_run = sub.add_parser(
        "run",
        help="execute the audit notebooks and write the HTML reports",
        description="Execute the audit notebooks for a run config and write the reports (HTML, executed "
        "notebooks, key results as JSON) and an index.html.",
    )
    p_run.add_argument("--config", required=True, metavar="PATH", help="the run config YAML (params/clients/*.yaml)")
    when = p_run.add_mutually_exclusive_group()
    when.add_argument("--period", type=_period, help="audit period overriding the config: 2026-10, 2026-W41 or 2026-10-14")
    when.add_argument("--periods", metavar="FIRST..LAST",
                      help="run every period of a range, in parallel, e.g. 2026-01..2026-10 (with --grain week or day for weekly or daily reports)")
    p_run.add_argument("--workers", type=int, default=None, metavar="N",
                       help="notebooks run side by side (with --periods: periods side by side); default: the number of cores")
    p_run.add_argument("--grain", choices=GRAINS, help="time grain overriding the config")
    p_run.add_argument("--language", choices=LANGUAGES, help="report language overriding the config")
    p_run.add_argument("--out", metavar="DIR", help="output folder (default: reports/<config name>[/<period>])")
    p_run.add_argument("--notebooks", nargs="+", metavar="NAME",
                       help="run only these notebooks, e.g. 00_data_quality 01_funnel or 00_data_quality,01_funnel (default: the config's list, else all)")
    p_run.add_argument("--notebooks-dir", metavar="DIR", help="folder with the NN_name.ipynb notebooks (default: the repository's notebooks/)")
    p_run.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    p_run.add_argument("--no-preflight", action="store_true",
                       help="do not load the data before running the notebooks (each notebook still loads it)")
    p_run.add_argument("--kernel", default="python3", metavar="NAME", help="Jupyter kernel name (default: python3)")
    p_run.add_argument("--pdf", action="store_true",
                       help="also write audit.pdf (summary, contents, every section; A4) into the output folder, "
                       "printed by a headless Chromium: needs `pip install 'salesaudit[pdf]'` and `apt-get install chromium`")
    p_run.set_defaults(func=_cmd_run)

    p_check = sub.add_parser(
        "check",
        help="load the data and print the reconciliation",
        description="Load the export named by a run config and print how many rows were read, kept and "
        "quarantined per table.",
    )
    p_check.add_argument("--config", required=True, metavar="PATH", help="the run config YAML (params/clients/*.yaml)")
    p_check.add_argument("--strict", action="store_true", help="exit with 1 when the load raised any warning (default: only a refused load fails, with 2)")
    p_check.add_argument("--language", choices=LANGUAGES, help="language of the warnings (default: the config's)")
    p_check.set_defaults(func=_cmd_check)

    p_pull = sub.add_parser(
        "pull",
        help="fetch deals, leads, stage history, activities and pipelines straight from the CRM",
        description="Fetch a CRM's data through its API (read methods only) into a folder the CRM's preset reads, "
        "with a funnel YAML per pipeline, a run config draft and PULL_REPORT.json. Keep the webhook or token in a "
        "file readable only by you (chmod 600), outside the project and the data folder, or in the environment variable.",
    )
    crm = p_pull.add_subparsers(dest="crm", metavar="CRM", required=True)
    for name, helptext in (("bitrix24", "Bitrix24 through an inbound webhook"), ("amocrm", "amoCRM through a long-lived token")):
        c = crm.add_parser(name, help=helptext, description=f"Pull {helptext}.")
        if name == "bitrix24":
            c.add_argument("--webhook-file", metavar="FILE", help="file holding the inbound webhook URL on one line "
                           "(default: the SALESAUDIT_B24_WEBHOOK environment variable)")
        else:
            c.add_argument("--subdomain", required=True, metavar="NAME", help="the account's subdomain (NAME.amocrm.ru)")
            c.add_argument("--token-file", metavar="FILE", help="file holding the long-lived token on one line "
                           "(default: the SALESAUDIT_AMO_TOKEN environment variable)")
        c.add_argument("--out", required=True, metavar="DIR", help="folder to write the data into (a second pull updates it)")
        c.add_argument("--since", metavar="DATE", help="only deals and leads created on or after DATE (2025-08-01)")
        c.add_argument("--until", metavar="DATE", help="only deals and leads created on or before DATE")
        c.add_argument("--head-of-sales", metavar="NAME", help="the head of sales (a user's full name or id), written into the run config draft")
        c.add_argument("--full", action="store_true", help="fetch everything again instead of only what changed since the last pull")
        c.add_argument("--base-url", help=argparse.SUPPRESS)        # tests: a local server
        c.add_argument("--rate", type=float, help=argparse.SUPPRESS)  # tests: requests per second
        c.set_defaults(func=_cmd_pull)
    return parser


def _cmd_pull(args) -> int:
    """``salesaudit pull bitrix24|amocrm``: fetch the CRM into a folder and print what was pulled."""
    from ..pull.common import PullError, Secret, mask

    secrets: list = []
    try:
        if args.crm == "bitrix24":
            from ..pull import bitrix24 as mod

            secret = Secret.from_file(args.webhook_file) if args.webhook_file else Secret.from_env("SALESAUDIT_B24_WEBHOOK")
            secrets.append(secret)
            kw = {"rate_per_sec": args.rate} if args.rate is not None else {}
            report = mod.pull(secret, Path(args.out), since=args.since, until=args.until,
                              head_of_sales=args.head_of_sales, full=args.full, **kw)
        else:
            try:
                from ..pull import amocrm as mod
            except ImportError as e:
                raise PullError(f"The amoCRM pull is not available in this installation ({e.name}).") from None
            secret = Secret.from_file(args.token_file) if args.token_file else Secret.from_env("SALESAUDIT_AMO_TOKEN")
            secrets.append(secret)
            kw = {"rate_per_sec": args.rate} if args.rate is not None else {}
            report = mod.pull(args.subdomain, secret, Path(args.out), since=args.since, until=args.until,
                              head_of_sales=args.head_of_sales, base_url=args.base_url, full=args.full, **kw)
    except ImportError as e:
        raise PullError(f"The pull needs the package {e.name}: install the pull extra (pip install 'salesaudit[pull]') "
                        f"and try again.") from None
    except PullError as e:
        raise PullError(mask(str(e), secrets)) from None
    except Exception as e:  # an unforeseen failure: one masked line, no traceback, no secret
        raise PullError(mask(f"The pull stopped on an unexpected {type(e).__name__}: {e}. The folder keeps what was "
                             f"fetched; run the same command again to resume.", secrets)) from None
    counts = ", ".join(f"{k} {v}" for k, v in report.get("counts", {}).items())
    comp = report.get("completeness") or {}
    print(f"Pulled into {args.out}: {counts}.")
    if comp:
        print(f"Stage history: {comp.get('deals_starting_at_creation')} of {comp.get('deals')} deals from their creation, "
              f"{comp.get('deals_with_gaps')} with gaps, earliest {comp.get('earliest_history')}.")
    print(f"Next: salesaudit check --config {Path(args.out) / report.get('run_config', 'run_config.yaml')}")
    return 0


def _run_options(args) -> dict:
    """The options `run` shares between a single run and a batch of periods."""
    return {
        "grain": args.grain,
        "out_dir": args.out,
        "language": args.language,
        "notebooks": args.notebooks,
        "notebooks_dir": args.notebooks_dir,
        "progress": not args.no_progress,
        "preflight": not args.no_preflight,
        "kernel_name": args.kernel,
    }


def _cmd_run(args) -> int:
    from .runner import run

    if args.pdf:  # before any notebook runs: a missing browser is found in a second, not after the run
        from .pdf import require

        require()
    if args.periods:
        return _cmd_run_periods(args)

    result = run(args.config, period=args.period, workers=args.workers, **_run_options(args))
    width = max((len(nb.stem) for nb in result.notebooks), default=0)
    for nb in result.notebooks:
        if nb.ok:
            print(f"{nb.stem:<{width}}  ok      ({nb.seconds:.1f} s)")
        else:
            print(f"{nb.stem:<{width}}  FAILED  {nb.error}")
    if result.banner:  # a partly covered period: the reader of the terminal should know too
        print(result.banner)
    print(f"Report: {Path(result.index).resolve()}")
    if args.pdf:
        from .pdf import write_run_pdf

        printed = write_run_pdf(result)
        print(f"PDF: {printed.path.resolve()} ({printed.pages} pages)")
    return 0 if result.ok else 1


def _cmd_run_periods(args) -> int:
    from .batch import run_periods

    result = run_periods(args.config, args.periods, workers=args.workers or os.cpu_count() or 1, **_run_options(args))
    width = max((len(p.period) for p in result.periods), default=0)
    for p in result.periods:
        print(f"{p.period:<{width}}  {'ok    ' if p.ok else 'FAILED'}  {p.error}".rstrip())
    print(f"Report: {Path(result.index).resolve()}")
    if args.pdf:
        _periods_pdf(args, result)
    return 0 if result.ok else 1


def _periods_pdf(args, result) -> None:
    """``audit.pdf`` in every period's folder that has an index page (one Chromium for all)."""
    from ..data.params import load_run_config
    from .pdf import PDF_NAME, Printer, folder_sections

    lang = args.language or load_run_config(args.config).language
    todo = [p for p in result.periods if p.index is not None and Path(p.index).is_file()]
    if not todo:
        return
    with Printer() as printer:
        for p in todo:
            sections = folder_sections(p.out_dir, [stem for stem, _ok, _err in p.notebooks])
            printed = printer.write(p.index, sections, Path(p.out_dir) / PDF_NAME, lang)
            print(f"PDF {p.period}: {printed.path.resolve()} ({printed.pages} pages)")


def _cmd_check(args) -> int:
    """Load, print the verdict first (timezone, warnings), then the reconciliation.

    Exit 2 when the load is refused (a fatal problem, printed as one paragraph), 1 with
    ``--strict`` when there is any warning, else 0.
    """
    import textwrap

    from ..data.loader import load_dataset
    from ..data.params import load_run_config
    from ..report.i18n import t
    from ..report.verdict import problem_text

    cfg = load_run_config(args.config)
    lang = args.language or cfg.language
    dataset = load_dataset(cfg)
    print(t("problem.timezone", lang, timezone=dataset.timezone))
    warnings = dataset.warnings
    if warnings:
        print(f"{t('problem.severity.warning', lang)} ({len(warnings)}):")
        for i, p in enumerate(warnings, 1):
            paragraph = textwrap.fill(problem_text(p, lang).split("\n", 1)[0], width=100, initial_indent=f"  {i}. ", subsequent_indent="     ")
            print(paragraph)
            for extra in problem_text(p, lang).split("\n")[1:]:  # stage_map: lines, as they are to be pasted
                print(f"       {extra}")
    else:
        print(t("problem.none", lang))
    notes = [t(key, lang, **fmt) for rep in dataset.reports.values() for key, fmt in rep.notes]
    if notes:  # what the loader derived or assumed (a file read by its content, amounts converted…)
        print(f"{t('dq.notes', lang)}:")
        for note in notes:
            print(textwrap.fill(note, width=100, initial_indent="  - ", subsequent_indent="    "))
    print()
    print(dataset.reconciliation().to_string())
    return 1 if (warnings and args.strict) else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``salesaudit`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SalesauditError as exc:
        sys.stdout.flush()
        print(f"salesaudit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("salesaudit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
