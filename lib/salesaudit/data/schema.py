"""The building blocks of every YAML schema: strict models, reading YAML, errors in plain words.

Run configs (:mod:`salesaudit.data.params`), CRM presets (:mod:`salesaudit.data.presets`) and pay schemes
(:mod:`salesaudit.incentives`) are validated with these, so that a wrong key or value always
names the file, the key and what is allowed, in the same words.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ParameterError, closest, display_path

__all__ = [
    "read_yaml",
    "validate",
    "format_validation_error",
    "named_dirs",
    "available_names",
    "schema_rows",
    "SCHEMA_TABLE_HEAD",
]


def _check_timezone(v):
    if v is None:
        return v
    try:
        ZoneInfo(str(v))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {v!r}; use an IANA name such as Europe/Moscow, Asia/Yekaterinburg or UTC")
    return str(v)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_default=True)


def read_yaml(path) -> Any:
    """Read a YAML file, turning a missing file or a syntax error into a ParameterError."""
    path = Path(path)
    if not path.exists():
        raise ParameterError(display_path(path), ["the file does not exist. Check the path (relative paths are relative to the config that names them)."])
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParameterError(display_path(path), [f"is not valid YAML{where}: {getattr(exc, 'problem', exc)}. Check the indentation and quoting there."]) from None
    except UnicodeDecodeError:
        raise ParameterError(display_path(path), ["is not UTF-8 text. Save it as UTF-8."]) from None


def _field_model(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of ``loc`` (for listing allowed keys)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        ann = current.model_fields[part].annotation
        # unwrap Optional[...] / list[...] / dict[...]
        for _ in range(3):
            if get_origin(ann) is not None:
                args = [a for a in get_args(ann) if a is not type(None)]
                ann = args[-1] if args else ann
        current = ann
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _key(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


#: pydantic's error kinds in the words of someone editing a YAML file
_PLAIN = {
    "string_type": "it should be text (put it in quotes if it looks like a number or a date)",
    "int_type": "it should be a whole number, e.g. 30",
    "int_parsing": "it should be a whole number, e.g. 30",
    "int_from_float": "it should be a whole number, e.g. 30",
    "float_type": "it should be a number, e.g. 10 or 2.5",
    "float_parsing": "it should be a number, e.g. 10 or 2.5",
    "bool_type": "it should be true or false",
    "bool_parsing": "it should be true or false",
    "date_type": "it should be a date such as 2026-10-31",
    "date_parsing": "it should be a date such as 2026-10-31",
    "date_from_datetime_parsing": "it should be a date such as 2026-10-31",
    "datetime_type": "it should be a moment such as 2026-10-31 23:59",
    "datetime_parsing": "it should be a moment such as 2026-10-31 23:59",
    "list_type": "it should be a list, e.g. [a, b] or one `- item` per line",
    "dict_type": "it should be a mapping of `key: value` lines",
    "model_type": "it should be a section of `key: value` lines",
    "too_short": "it has too few items",
    "too_long": "it has too many items",
    "string_pattern_mismatch": "it does not have the expected form",
}


def _plain(kind: str, err: dict) -> str:
    """One error in plain words: what the value should be (no pydantic jargon)."""
    ctx = err.get("ctx", {}) or {}
    if kind in _PLAIN:
        text = _PLAIN[kind]
        if kind == "string_pattern_mismatch" and "pattern" in ctx:
            text += f" ({ctx['pattern']})"
        return text
    bounds = {"greater_than": "greater than {gt}", "greater_than_equal": "at least {ge}", "less_than": "less than {lt}", "less_than_equal": "at most {le}"}
    if kind in bounds:
        return "it should be " + bounds[kind].format(**ctx)
    return str(err["msg"]).replace("Input should be", "it should be").replace("input should be", "it should be")


def format_validation_error(model: type[BaseModel], exc: ValidationError) -> list[str]:
    """Turn pydantic's errors into one sentence per problem: key, what was found, what is allowed."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = _key(loc)
        kind = err["type"]
        got = err.get("input")
        if kind == "extra_forbidden":
            owner = _field_model(model, loc)
            allowed = [n for n, f in owner.model_fields.items() if not f.exclude] if owner else []
            hint = closest(loc[-1], allowed)
            problems.append(f"unknown key `{key}`.{hint} Allowed keys here: {', '.join(allowed)}.")
        elif kind == "missing":
            problems.append(f"the key `{key}` is required but missing.")
        elif kind in ("literal_error", "enum"):
            expected = err.get("ctx", {}).get("expected", "")
            problems.append(f"`{key}` is {got!r}; allowed values: {expected}.")
        elif kind == "value_error":
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
            problems.append(f"`{key}`: {msg}.")
        else:
            problems.append(f"`{key}` is {got!r}: {_plain(kind, err)}.")
    return problems


def validate(model: type[BaseModel], data: Any, file) -> BaseModel:
    """Validate ``data`` against ``model``; errors name ``file`` and the keys."""
    if not isinstance(data, dict):
        raise ParameterError(display_path(file), [f"must be a YAML mapping of keys to values, found {type(data).__name__}."])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ParameterError(display_path(file), format_validation_error(model, exc)) from None


def named_dirs(kind: str, base_dir: Path | None = None) -> list[Path]:
    """Where a name of ``kind`` (``crm``, ``funnels``) is looked up: ``<config dir>/../<kind>``, then
    the built-in ``params/<kind>`` (the checkout's, or the installed copy: :func:`salesaudit.resources.params_dir`)."""
    from ..errors import SalesauditError
    from ..resources import params_dir

    dirs = []
    if base_dir is not None:
        dirs.append((Path(base_dir) / ".." / kind).resolve())
    try:
        dirs.append(params_dir() / kind)
    except SalesauditError:  # no built-in parameters: only the config's neighbours can be named
        pass
    return list(dict.fromkeys(dirs))


def available_names(kind: str, base_dir: Path | None = None) -> list[str]:
    """The YAML files of ``kind`` that can be named, without their ``.yaml``."""
    names = set()
    for d in named_dirs(kind, base_dir):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.yaml"))
    return sorted(names)


#: the header of a schema reference table (:func:`schema_rows`)
SCHEMA_TABLE_HEAD = ["| key | type | default | meaning |", "|---|---|---|---|"]


def schema_rows(model: type[BaseModel], prefix: str = "", *, skip=(), kind_hook=None) -> list[str]:
    """Markdown table rows ``| key | type | default | meaning |`` of a pydantic model's fields.

    Nested models follow their key (``a.b``; a list of models as ``a[].b``). ``Optional[X]``
    reads "X or empty", a ``Literal`` "one of ...". ``kind_hook(name, inner_type)`` may return
    ``(kind, descend)`` to print a field its own way (and whether to list a model's fields
    below it); ``skip`` names fields to leave out. Used for ``docs/parameters.md`` and
    ``docs/incentives.md``.
    """
    import json
    from typing import Union

    lines: list[str] = []
    for name, f in model.model_fields.items():
        if f.exclude or name in skip:
            continue
        ann = f.annotation
        optional = get_origin(ann) is Union and type(None) in get_args(ann)
        if optional:
            ann = next(a for a in get_args(ann) if a is not type(None))
        is_list = get_origin(ann) is list
        inner = get_args(ann)[0] if is_list and get_args(ann) else ann
        sub = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
        custom = kind_hook(name, inner) if kind_hook is not None else None
        if custom is not None:
            kind, descend = custom
            sub = sub if descend else None
        elif get_origin(inner) is Literal:
            kind = "one of " + ", ".join(f"`{x}`" for x in get_args(inner))
        else:
            item_optional = get_origin(inner) is Union and type(None) in get_args(inner)
            item = next(a for a in get_args(inner) if a is not type(None)) if item_optional else inner
            kind = getattr(item, "__name__", None) or str(item).replace("typing.", "")
            if item_optional:
                kind = f"({kind} or empty)" if is_list else f"{kind} or empty"
            if is_list:
                kind = f"list of {kind}"
        if optional:
            kind += " or empty"
        if f.is_required():
            default = "required"
        elif isinstance(f.default, BaseModel):
            default = "see below"
        else:
            default = "`" + json.dumps(f.default, default=str, ensure_ascii=False) + "`"
        meaning = f.description or ((sub.__doc__ or "").strip().splitlines()[0] if sub is not None else "")
        lines.append(f"| `{prefix}{name}` | {kind} | {default} | {meaning} |")
        if sub is not None:
            lines += schema_rows(sub, f"{prefix}{name}{'[]' if is_list else ''}.", skip=skip, kind_hook=kind_hook)
    return lines
