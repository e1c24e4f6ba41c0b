"""CRM presets: how one CRM's export maps into the canonical data model.

A preset is a YAML file in ``params/crm/`` (``bitrix24.yaml``, ``amocrm.yaml``…).
For each canonical table it says which files to read, how to read them, which
export column feeds each canonical column, and how values translate; a
top-level ``stages:`` maps the CRM's stage names to funnel keys. A user writes a
new preset without touching code; see ``docs/presets.md``.

Column references:

* ``created_at: Дата создания`` – the export column (matched ignoring case,
  spaces and ``ё``);
* ``deal_id: ID`` / ``ID#2`` / ``ID#3`` – the first, second, third column named ``ID``;
* ``closed_at: [Won time, Lost time]`` – the first non-empty of several columns
  (columns absent from the file are skipped, so a list also serves for
  alternative spellings);
* a joined file's columns are referenced with the join's ``prefix``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from ..errors import ParameterError, PresetError, closest, display_path
from .model import TABLES
from .readers import ENCODINGS, SEPARATORS
from .schema import _Strict, available_names, named_dirs, read_yaml, validate

__all__ = ["Join", "TableMap", "Preset", "load_preset", "preset_dirs", "available_presets"]


def __getattr__(name: str):
    # ``REPO_ROOT``: the folder holding ``params/``, ``notebooks/`` and ``data_samples/`` – the source
    # checkout, or the installed copies (see :mod:`salesaudit.resources`); looked up when first used
    if name == "REPO_ROOT":
        from ..resources import params_dir

        return params_dir().parent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ColumnRef = Union[str, list[str]]


class Join(_Strict):
    """Bring columns of a second file in, matched on a key (a left join; the second file's key must be unique)."""

    file: str = Field(description="file name or glob in the data folder")
    key: str = Field(description="key column, same name in both files")
    right_key: Optional[str] = Field(default=None, description="the key's name in the joined file, if different")
    prefix: str = Field(default="", description="prefix for the joined file's columns, e.g. 'mql.'")
    encoding: Literal[ENCODINGS] = "auto"  # type: ignore[valid-type]
    sep: Literal[SEPARATORS] = "auto"  # type: ignore[valid-type]


class TableMap(_Strict):
    """How to read one canonical table from the export."""

    files: list[str] = Field(min_length=1, description="file names or globs in the data folder, tried in order")
    api_only: bool = Field(default=False, description="the CRM has no file export of this table (`salesaudit pull` writes it): a folder "
                                                      "of file exports without it is not warned about")
    encoding: Literal[ENCODINGS] = "auto"  # type: ignore[valid-type]
    sep: Literal[SEPARATORS] = "auto"  # type: ignore[valid-type]
    decimal: Literal["auto", ",", "."] = "auto"
    dayfirst: bool = True
    sheet: Union[int, str] = 0
    null_values: list[str] = []
    columns: dict[str, ColumnRef] = {}
    values: dict[str, dict[str, str]] = Field(default={}, description="per canonical column: export value -> canonical value")
    constants: dict[str, str] = Field(default={}, description="canonical columns with one value for every row")
    join: list[Join] = []
    stage_from_outcome: bool = Field(default=False, description="won/lost outcome overrides the stage (Pipedrive keeps the last open stage on closed deals)")


class Preset(_Strict):
    """A CRM preset."""

    name: str
    crm: str = ""
    description: str = ""
    funnel: Optional[str] = Field(default=None, description="the CRM's default funnel file, relative to the preset")
    timezone: str = Field(default="UTC", description="the timezone of the CRM's exports when the run config names none")
    production_calendar: Optional[Literal["ru", "none"]] = Field(default=None, description="the production calendar a client of this CRM usually works by (`ru`), when the run config names none")
    pipeline_prefix: Optional[str] = Field(default=None, description="regular expression of a pipeline prefix on stage ids, e.g. '^C(\\d+):' for Bitrix24's C3:NEW; the group is the pipeline id")
    tables: dict[str, TableMap]
    stages: dict[str, str] = Field(default={}, description="CRM stage name or id -> funnel key")
    #: where the preset was read from (set by the loader)
    source: Optional[Path] = Field(default=None, exclude=True)

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: dict[str, TableMap]):
        problems = []
        for table, tmap in v.items():
            if table not in TABLES:
                problems.append(f"unknown table `{table}`;{closest(table, TABLES)} allowed: {', '.join(TABLES)}")
                continue
            names = TABLES[table].names
            for section in ("columns", "values", "constants"):
                for col in getattr(tmap, section):
                    if col not in names:
                        problems.append(
                            f"`tables.{table}.{section}.{col}` is not a column of {table};{closest(col, names)} allowed: {', '.join(names)}"
                        )
        if problems:
            raise ValueError("; ".join(problems))
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v):
        from .schema import _check_timezone

        return _check_timezone(v)

    @model_validator(mode="after")
    def _has_tables(self):
        if not self.tables:
            raise ValueError("a preset needs at least one table under `tables:`")
        return self


def preset_dirs(base_dir: Path | None = None) -> list[Path]:
    """Where preset names are looked up: ``<config dir>/../crm`` then the built-in ``params/crm`` (:func:`salesaudit.resources.params_dir`)."""
    return named_dirs("crm", base_dir)


def available_presets(base_dir: Path | None = None) -> list[str]:
    return available_names("crm", base_dir)


def load_preset(name_or_path: str, base_dir: Path | None = None, config_file=None) -> Preset:
    """Load a preset by name (``bitrix24``) or by path (``my_crm.yaml``, relative to ``base_dir``)."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.exists():
            raise ParameterError(display_path(config_file or path), [f"`preset` points to {text}, which does not exist."])
    else:
        path = next((d / f"{text}.yaml" for d in preset_dirs(base_dir) if (d / f"{text}.yaml").exists()), None)
        if path is None:
            names = available_presets(base_dir)
            raise ParameterError(
                display_path(config_file) if config_file else "run config",
                [f"`preset` is {text!r}, which is not a known preset;{closest(text, names)} allowed values: {', '.join(names)} (or a path to a preset YAML)."],
            )
    data = read_yaml(path)
    try:
        preset = validate(Preset, data, path)
    except ParameterError as exc:
        raise PresetError(exc.file, exc.problems) from None
    preset.source = path.resolve()
    return preset
