"""What every CRM pull shares: secrets, a polite HTTP client, keyed tables, resumable state.

A pull (``salesaudit pull bitrix24`` / ``salesaudit pull amocrm``) reads a CRM through its
API and writes the files the CRM's preset reads. The pieces here are CRM-neutral:

- :class:`Secret` wraps a webhook URL or a token so that ``str()`` and ``repr()`` only ever
  show it masked; :func:`mask` scrubs any text (an error body, a URL) of every secret.
- :class:`Http` is a synchronous ``httpx`` client with a client-side rate limit (token
  bucket), bounded exponential backoff with seeded jitter on 5xx, 429, timeouts and
  connection resets, and one-paragraph :class:`PullError` for everything else. A CRM
  module subclasses it and supplies two hooks: :meth:`Http.retryable` (the API's own
  "slow down" errors) and :meth:`Http.error_text` (what a 401/403/404 body means).
- :class:`Store` is one table keyed by id, persisted as CSV: a second pull never
  duplicates rows. :class:`State` keeps resumable cursors per entity.
- :func:`write_funnel`, :func:`write_config_draft` and :func:`completeness` turn what was
  pulled into a funnel YAML, a run-config draft and the history-completeness figures.

Nothing here writes to a CRM: :class:`Http` refuses any HTTP verb but GET and POST, and
POST is meant for the read methods of an RPC API (Bitrix24's ``crm.deal.list``).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote, quote_plus, urlsplit

import pandas as pd
import yaml

from ..errors import SalesauditError, display_path

__all__ = [
    "PullError",
    "Secret",
    "mask",
    "Http",
    "Store",
    "State",
    "progress",
    "write_funnel",
    "write_config_draft",
    "completeness",
    "write_report",
    "slug",
    "STATE_FILE",
    "REPORT_FILE",
]

STATE_FILE = ".pull_state.json"
REPORT_FILE = "PULL_REPORT.json"
_STAGE_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class PullError(SalesauditError):
    """A pull that cannot go on: what happened, which host/method, what to do. Never holds a secret."""


# --------------------------------------------------------------------------- secrets

class Secret:
    """A webhook URL or an access token that must never be shown.

    ``str()``/``repr()`` give a masked form: a URL keeps its scheme, host and every path
    segment but the secret one (the last non-empty one: the webhook code), of which only
    the last two characters stay (``https://portal.bitrix24.ru/rest/1/****…k3/``); a bare
    token becomes ``****…k3``. :meth:`reveal` returns the value, for the HTTP client only.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        value = (value or "").strip()
        if not value:
            raise PullError("The secret is empty: put the webhook URL or the token in the file or the "
                            "environment variable, on one line, and try again.")
        self._value = value

    @classmethod
    def from_file(cls, path) -> "Secret":
        """The first non-empty line of a file (the file itself is never copied anywhere)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise PullError(f"The secret file {display_path(p)} does not exist: write the webhook URL or the token "
                            f"into it (one line, readable only by you: chmod 600) and try again.") from None
        except (OSError, UnicodeDecodeError) as e:
            raise PullError(f"The secret file {display_path(p)} cannot be read ({type(e).__name__}): it must be a "
                            f"UTF-8 text file with the webhook URL or the token on one line.") from None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if not lines:
            raise PullError(f"The secret file {display_path(p)} is empty: write the webhook URL or the token into it "
                            f"on one line and try again.")
        return cls(lines[0])

    @classmethod
    def from_env(cls, name: str) -> "Secret":
        value = os.environ.get(name, "")
        if not value.strip():
            raise PullError(f"The environment variable {name} is not set or empty: set it to the webhook URL or the "
                            f"token, or pass the secret in a file.")
        return cls(value)

    def reveal(self) -> str:
        return self._value

    def parts(self) -> list[str]:
        """Every string that gives the secret away: the value and, for a URL, its secret segment."""
        out = [self._value]
        seg = self._secret_segment()
        if seg and len(seg) >= 6:
            out.append(seg)
        return out

    def _secret_segment(self) -> str | None:
        if "://" not in self._value:
            return None
        segs = [s for s in urlsplit(self._value).path.split("/") if s]
        return segs[-1] if segs else None

    @staticmethod
    def _mask_token(tok: str) -> str:
        return "****…" + (tok[-2:] if len(tok) >= 8 else "")

    def masked(self) -> str:
        v = self._value
        if "://" in v:
            u = urlsplit(v)
            segs = u.path.split("/")
            idx = max((i for i, s in enumerate(segs) if s), default=None)
            if idx is not None:
                segs[idx] = self._mask_token(segs[idx])
            host = u.hostname or ""
            if u.port:
                host += f":{u.port}"
            return f"{u.scheme}://{host}{'/'.join(segs)}"
        return self._mask_token(v)

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    def __eq__(self, other):
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self):
        return hash(self._value)

    def __reduce__(self):  # never pickled into a file by accident
        raise TypeError("a Secret cannot be pickled")


def mask(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every secret's value, its URL-encoded forms and its secret segment replaced by the masked form."""
    if not text:
        return text
    out = str(text)
    for s in secrets:
        if s is None:
            continue
        for part in sorted(set(s.parts()), key=len, reverse=True):
            repl = s.masked() if part == s.reveal() else Secret._mask_token(part)
            for form in {part, quote(part, safe=""), quote(part), quote_plus(part)}:
                if form:
                    out = out.replace(form, repl)
    return out


# --------------------------------------------------------------------------- HTTP

class _Bucket:
    """Token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float, sleep, clock):
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self.sleep = sleep
        self.clock = clock
        self.tokens = 1.0
        self.t = clock()

    def take(self):
        if self.rate <= 0:
            return
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens < 1.0:
            wait = (1.0 - self.tokens) / self.rate
            self.sleep(wait)
            self.t = max(self.clock(), now + wait)
            self.tokens = 1.0
        self.tokens -= 1.0


class Http:
    """A synchronous, rate-limited, retrying JSON client for one API root (``base_url``).

    Subclasses override :meth:`retryable` (API-level "slow down" answers, e.g. Bitrix24's
    ``QUERY_LIMIT_EXCEEDED``) and :meth:`error_text` (one paragraph for a 4xx body).
    ``sleep`` and ``clock`` are injectable so tests run in seconds. ``.calls`` counts the
    requests per method (the path below ``base_url``, without a ``.json`` suffix),
    ``.log`` lists ``(verb, method)`` of every request sent, retries included.
    """

    RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
    CONNECT_RETRIES = 2           # a host that refuses connections is not worth six tries

    def __init__(self, base_url: str, *, secrets: list[Secret], rate_per_sec: float, timeout: float = 30,
                 max_retries: int = 6, backoff_base: float = 0.5, backoff_max: float = 8.0,
                 headers: dict | None = None, sleep=time.sleep, clock=time.monotonic,
                 burst: float = 1, seed: int = 20261031):
        import httpx  # the `pull` extra

        self._httpx = httpx
        self.base_url = base_url.rstrip("/") + "/"
        self.secrets = [s for s in secrets if s is not None]
        self.rate_per_sec = rate_per_sec
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.clock = clock
        self.calls: Counter = Counter()
        self.log: list[tuple[str, str]] = []
        self.sent_at: list[float] = []          # clock() of every request sent (rate checks)
        self.retries = 0
        self._bucket = _Bucket(rate_per_sec, burst, sleep, clock)
        self._rng = random.Random(seed)
        self._client = httpx.Client(timeout=timeout, headers=headers or {}, follow_redirects=False,
                                    trust_env=False)
        u = urlsplit(self.base_url)
        self.host = u.hostname or "?"
        if u.port:
            self.host += f":{u.port}"

    # ----- hooks
    def retryable(self, response) -> bool:
        """True when the answer is the API's own "too many requests, try later" (retried with backoff)."""
        return False

    def error_text(self, response) -> str:
        """One paragraph for a failed request (a subclass reads the API's error body)."""
        return (f"{self.host} answered HTTP {response.status_code} to {self.method_of(response.request.url)}: "
                f"{_short(response.text)}. Check the address and the access rights, and try again.")

    # ----- public
    def get(self, path: str, params: dict | None = None) -> Any:
        return self._request("GET", path, params=params)

    def post(self, path: str, json: Any = None, params: dict | None = None) -> Any:
        return self._request("POST", path, params=params, json=json)

    def close(self):
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def method_of(self, url) -> str:
        """The API method a URL calls: its path below ``base_url``, without ``.json``."""
        full = str(url).split("?", 1)[0]
        rel = full[len(self.base_url):] if full.startswith(self.base_url) else urlsplit(full).path
        rel = rel.strip("/")
        return rel[:-5] if rel.endswith(".json") else rel

    def masked(self, text: str) -> str:
        return mask(text, self.secrets)

    # ----- internals
    def _backoff(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max * 4)
        base = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        return base * (0.5 + self._rng.random() / 2)

    def _request(self, verb: str, path: str, *, params=None, json=None) -> Any:
        httpx = self._httpx
        if verb not in ("GET", "POST"):
            raise PullError(f"Refusing to send {verb}: a pull only reads from the CRM.")
        url = self.base_url + path.lstrip("/")
        method = self.method_of(url)
        attempt = 0
        last = ""
        while True:
            self._bucket.take()
            self.calls[method] += 1
            self.log.append((verb, method))
            self.sent_at.append(self.clock())
            try:
                response = self._client.request(verb, url, params=params, json=json)
            except httpx.ConnectError:
                if attempt >= min(self.CONNECT_RETRIES, self.max_retries):
                    raise PullError(f"Cannot reach host {self.host}: the connection failed (no answer or refused). "
                                    f"Check the address (the portal or subdomain name) and the network, proxy or VPN, "
                                    f"and try again.") from None
                last = "the connection failed"
            except httpx.TimeoutException:
                last = f"no answer within {self.timeout:g} s"
                if attempt >= self.max_retries:
                    raise PullError(f"Host {self.host} did not answer {method} within {self.timeout:g} s, "
                                    f"{attempt + 1} times in a row. The CRM may be overloaded: try again later "
                                    f"(the pull resumes where it stopped).") from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as e:
                last = f"the connection broke ({type(e).__name__})"
                if attempt >= self.max_retries:
                    raise PullError(f"Host {self.host} kept breaking the connection on {method} "
                                    f"({attempt + 1} attempts). Try again later (the pull resumes where it stopped).") from None
            except httpx.HTTPError as e:
                raise PullError(self.masked(f"Request {method} to {self.host} failed: {type(e).__name__}. "
                                            f"Check the address and try again.")) from None
            else:
                status = response.status_code
                retry = status in self.RETRY_STATUS or self.retryable(response)
                if not retry:
                    if status >= 400 or 300 <= status < 400:
                        raise PullError(self.masked(self.error_text(response))) from None
                    if status == 204:  # No Content: an empty answer (amoCRM's empty list)
                        return None
                    try:
                        return response.json()
                    except ValueError:
                        raise PullError(f"{self.host} answered {method} with something that is not JSON "
                                        f"({response.headers.get('content-type', 'no content type')}): the address "
                                        f"is probably not the CRM's API. Check the portal address.") from None
                last = f"HTTP {status}" + (f" {_api_error(response)}" if _api_error(response) else "")
                if attempt >= self.max_retries:
                    raise PullError(self.masked(
                        f"Host {self.host} kept answering {method} with {last} after {attempt + 1} attempts "
                        f"(the CRM's request limit or an outage). Try again later: the pull resumes where it stopped."))
                ra = _retry_after(response)
                self.retries += 1
                self.sleep(self._backoff(attempt, ra))
                attempt += 1
                continue
            self.retries += 1
            self.sleep(self._backoff(attempt))
            attempt += 1


def _short(text: str, n: int = 200) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[:n] + "…"


def _api_error(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return ""


def _retry_after(response) -> float | None:
    v = response.headers.get("retry-after")
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime
            return (parsedate_to_datetime(v) - dt.datetime.now(dt.timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None


# --------------------------------------------------------------------------- tables and state

def _atomic_write(path: Path, data: str | bytes):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


class Store:
    """One table keyed by ``key``, persisted as ``<folder>/<table>.csv`` (UTF-8) on :meth:`flush`.

    An existing file is read back first (as text), so a resumed or incremental pull updates
    rows in place: a row whose key is already there replaces it, never duplicates it.
    """

    def __init__(self, folder: Path, table: str, key: str, columns: list[str] | None = None):
        self.folder = Path(folder)
        self.table = table
        self.key = key
        self.path = self.folder / f"{table}.csv"
        self._columns: list[str] = list(columns or [])
        self._rows: dict[str, dict] = {}
        if self.path.exists() and self.path.stat().st_size > 0:
            old = pd.read_csv(self.path, dtype=str, keep_default_na=False, encoding="utf-8")
            for c in old.columns:
                if c not in self._columns:
                    self._columns.append(c)
            for r in old.to_dict("records"):
                self._rows[str(r[key])] = r

    def upsert(self, rows: Iterable[dict]) -> int:
        """Add or replace rows by key; returns how many keys were new."""
        new = 0
        for r in rows:
            if self.key not in r or r[self.key] in (None, ""):
                raise ValueError(f"{self.table}: a row without {self.key}")
            k = str(r[self.key])
            if k not in self._rows:
                new += 1
            self._rows[k] = dict(r)
            for c in r:
                if c not in self._columns:
                    self._columns.append(c)
        return new

    def __len__(self):
        return len(self._rows)

    def rows(self) -> list[dict]:
        """The rows (copies), in key order of arrival."""
        return [dict(r) for r in self._rows.values()]

    def retain(self, keep) -> int:
        """Drop the rows for which ``keep(row)`` is false; returns how many were dropped."""
        drop = [k for k, r in self._rows.items() if not keep(r)]
        for k in drop:
            del self._rows[k]
        return len(drop)

    def keys(self) -> set[str]:
        return set(self._rows)

    def frame(self) -> pd.DataFrame:
        cols = list(self._columns)
        if self.key in cols:
            cols.remove(self.key)
        cols.insert(0, self.key)
        return pd.DataFrame(list(self._rows.values()), columns=cols)

    def flush(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, self.frame().to_csv(index=False))
        return self.path


class State:
    """Resumable cursors per entity, in ``<folder>/.pull_state.json``.

    Call :meth:`begin` with the range first: the same range as an unfinished pull resumes
    it (returns True); a new range, or a pull that had finished, starts the cursors afresh
    (rows are keyed, so nothing duplicates). ``since``/``until`` and ``finished_at`` of the
    last complete pull stay in the file, so an incremental pull knows where the last one ended.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / STATE_FILE
        self.data: dict = {"entities": {}}
        if self.path.exists():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except (ValueError, OSError):
                self.data = {"entities": {}}
        self.data.setdefault("entities", {})

    @property
    def since(self) -> str | None:
        return self.data.get("since")

    @property
    def until(self) -> str | None:
        return self.data.get("until")

    @property
    def finished_at(self) -> str | None:
        return self.data.get("finished_at")

    def begin(self, since=None, until=None, **extra) -> bool:
        """Start or resume a pull over [since, until]; True when resuming an unfinished one."""
        since = _iso(since)
        until = _iso(until)
        same = (self.data.get("since") == since and self.data.get("until") == until
                and all(self.data.get(k) == v for k, v in extra.items()))
        resuming = same and bool(self.data["entities"]) and not self.data.get("complete", False)
        if not resuming:
            self.data["entities"] = {}
        self.data.update({"since": since, "until": until, "complete": False, **extra})
        self.save()
        return resuming

    def get(self, entity: str) -> dict:
        return dict(self.data["entities"].get(entity, {}).get("cursor", {}))

    def set(self, entity: str, cursor: dict):
        self.data["entities"].setdefault(entity, {})["cursor"] = dict(cursor)
        self.save()

    def done(self, entity: str):
        self.data["entities"].setdefault(entity, {})["done"] = True
        self.save()

    def is_done(self, entity: str) -> bool:
        return bool(self.data["entities"].get(entity, {}).get("done"))

    def finish(self):
        """Mark the whole pull complete (the next run with the same range starts afresh)."""
        self.data["complete"] = True
        self.data["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.save()

    def save(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True))


def _iso(v) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def progress(entity: str, total: int | None):
    """A tqdm bar on stderr counting rows of one entity; silent when stderr is not a terminal."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=entity, unit=" rows", file=sys.stderr, leave=False,
                disable=not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()))


# --------------------------------------------------------------------------- outputs

def slug(text: str, default: str = "x") -> str:
    """A funnel-key-safe slug: lower case ASCII letters, digits and underscores, starting with a letter."""
    table = str.maketrans({
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
        "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "",
        "э": "e", "ю": "yu", "я": "ya"})
    s = str(text).lower().translate(table)
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    if not s:
        s = default
    if not s[0].isalpha():
        s = f"{default}_{s}"
    return s


def write_funnel(folder, name: str, stages: list[dict], *, norm_days: dict | None = None,
                 header: str | None = None) -> Path:
    """Write ``<folder>/funnel_<name>.yaml`` in the schema of ``params/funnels/*.yaml``.

    ``stages``: ``{"key", "label_ru", "label_en", "kind": "open"|"won"|"lost"}`` in the CRM's
    order; open stages keep their order and come first, then the won, then the lost
    terminals. Keys must be funnel keys (``[a-z][a-z0-9_]*``, unique). Raises PullError
    when the CRM's pipeline has no won or no lost stage.
    """
    from ..data.params import Funnel

    folder = Path(folder)
    order = {"open": 0, "won": 1, "lost": 2}
    bad = [s.get("kind") for s in stages if s.get("kind") not in order]
    if bad:
        raise ValueError(f"stage kind must be open, won or lost, not {bad[0]!r}")
    items = sorted(enumerate(stages), key=lambda t: (order[t[1]["kind"]], t[0]))
    out = []
    for _, s in items:
        if not _STAGE_KEY.match(str(s["key"])):
            raise ValueError(f"not a funnel key: {s['key']!r}")
        ru = str(s.get("label_ru") or s["key"])
        en = str(s.get("label_en") or ru)
        row: dict = {"key": str(s["key"]), "label": {"ru": ru, "en": en}}
        if norm_days and s["key"] in norm_days:
            row["norm_days"] = norm_days[s["key"]]
        if s["kind"] != "open":
            row["terminal"] = s["kind"]
        out.append(row)
    doc = {"stages": out}
    try:
        Funnel.model_validate(doc)
    except Exception as e:  # pydantic ValidationError: one line
        kinds = {s["kind"] for s in stages}
        missing = [k for k in ("won", "lost") if k not in kinds]
        what = (f"it has no {' and no '.join(missing)} stage" if missing else str(e).splitlines()[0])
        raise PullError(f"The pipeline {name!r} cannot become a funnel: {what}. Check the pipeline's stages and "
                        f"their semantics in the CRM (every pipeline needs a success and a failure stage), or "
                        f"write the funnel by hand (params/funnels/*.yaml).") from None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"funnel_{slug(name)}.yaml"
    text = (f"# {header}\n" if header else "") + (
        "# Generated by `salesaudit pull` from the CRM's pipeline: open stages in the CRM's order, then the\n"
        "# won and lost terminals from the stages' semantics. Add norm_days (calendar days a stage should\n"
        "# take) and may_skip: false for mandatory stages: the CRM does not know them.\n")
    text += _dump_funnel(out)
    _atomic_write(path, text)
    return path


def _flow(d: dict) -> str:
    return yaml.safe_dump(d, allow_unicode=True, default_flow_style=True, width=10_000, sort_keys=False).strip()


def _dump_funnel(stages: list[dict]) -> str:
    return "stages:\n" + "".join(f"  - {_flow(s)}\n" for s in stages)


def write_config_draft(folder, *, client, preset, funnel_path, timezone, head_of_sales=None,
                       stage_map: dict | None = None, pipeline: str | None = None,
                       extra: dict | None = None, name: str = "run_config.yaml") -> Path:
    """Write ``<folder>/run_config.yaml``: a run config (params/clients/*.yaml schema) whose data is the folder.

    ``funnel_path`` is written relative to the folder. ``stage_map`` maps the CRM's stage
    ids to the funnel's keys; ``extra`` adds any other run-config keys. The draft is
    checked against the run-config schema before it is written.
    """
    from ..data.params import RunConfig

    folder = Path(folder)
    funnel_path = Path(funnel_path)
    try:
        funnel_rel = os.path.relpath(funnel_path.resolve(), folder.resolve())
    except ValueError:
        funnel_rel = str(funnel_path.resolve())
    doc: dict = {"client": str(client), "data": ".", "preset": str(preset), "funnel": funnel_rel}
    if stage_map:
        doc["stage_map"] = {str(k): str(v) for k, v in stage_map.items()}
    if pipeline is not None:
        doc["pipeline"] = str(pipeline)
    if timezone:
        doc["timezone"] = str(timezone)
    if head_of_sales:
        doc["head_of_sales"] = str(head_of_sales)
    for k, v in (extra or {}).items():
        doc[k] = v
    # validate the shape (funnel as a mapping, as the loader would read it)
    check = dict(doc)
    check["funnel"] = yaml.safe_load((folder / funnel_rel).read_text(encoding="utf-8")) if (folder / funnel_rel).exists() else None
    if check["funnel"] is not None:
        RunConfig.model_validate(check)
    text = ("# Run config draft written by `salesaudit pull`: data is this folder. Set the audit period\n"
            "# (period, as_of), the language and the client's rules (lead_response, deal_load, discounts),\n"
            "# then: salesaudit check --config <this file>; salesaudit run --config <this file> --out <dir>.\n")
    text += yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10_000)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    _atomic_write(path, text)
    return path


def _times(s: pd.Series, timezone: str | None) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce", utc=False, format="mixed")
        if s.dtype == object:  # mixed offsets: go through UTC
            s = pd.to_datetime(s, errors="coerce", utc=True)
    if getattr(s.dt, "tz", None) is None:
        if timezone:
            s = s.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
        else:
            return s
    return s.dt.tz_convert("UTC")


def completeness(deals: pd.DataFrame, history: pd.DataFrame, *, timezone: str | None = None,
                 tolerance: dt.timedelta = dt.timedelta(minutes=1)) -> dict:
    """How whole the stage history is.

    ``deals``: ``deal_id``, ``created_at`` (and ``stage``, the current stage, if known);
    ``history``: ``deal_id``, ``entered_at`` (and ``stage``). Times may be datetimes or
    strings; naive ones are read in ``timezone`` when given (both sides must agree).

    Returns ``deals``, ``deals_with_history``, ``deals_starting_at_creation`` (first entry
    within ``tolerance`` of creation), ``share_starting_at_creation``, ``deals_without_history``,
    ``deals_with_gaps`` (history missing, starting after creation, or ending in another stage
    than the deal's current one) with ``gap_deal_ids`` (up to 20), ``earliest_history``
    (ISO date) and ``history_rows``.
    """
    d = deals[["deal_id", "created_at"] + (["stage"] if "stage" in deals else [])].copy()
    h = history[["deal_id", "entered_at"] + (["stage"] if "stage" in history else [])].copy()
    d["deal_id"] = d["deal_id"].astype(str)
    h["deal_id"] = h["deal_id"].astype(str)
    d["created_at"] = _times(d["created_at"], timezone)
    h["entered_at"] = _times(h["entered_at"], timezone)
    h = h.dropna(subset=["entered_at"]).sort_values(["deal_id", "entered_at"], kind="stable")
    first = h.groupby("deal_id")["entered_at"].min()
    d = d.drop_duplicates("deal_id").set_index("deal_id")
    f = first.reindex(d.index)
    has = f.notna()
    starts = has & ((f - d["created_at"]).abs() <= pd.Timedelta(tolerance))
    gap = ~starts
    if "stage" in d and "stage" in h:
        last = h.groupby("deal_id")["stage"].last().reindex(d.index)
        gap = gap | (has & d["stage"].notna() & (d["stage"].astype(str) != "") & (last.astype(str) != d["stage"].astype(str)))
    n = int(len(d))
    earliest = h["entered_at"].min() if len(h) else None
    return {
        "deals": n,
        "deals_with_history": int(has.sum()),
        "deals_starting_at_creation": int(starts.sum()),
        "share_starting_at_creation": round(float(starts.sum()) / n, 4) if n else None,
        "deals_without_history": int((~has).sum()),
        "deals_with_gaps": int(gap.sum()),
        "gap_deal_ids": sorted(d.index[gap].tolist(), key=_natural)[:20],
        "earliest_history": None if earliest is None or pd.isna(earliest) else pd.Timestamp(earliest).date().isoformat(),
        "history_rows": int(len(h)),
    }


def _natural(s: str):
    return (0, int(s), "") if str(s).isdigit() else (1, 0, str(s))


def write_report(folder, report: dict) -> Path:
    """Write ``<folder>/PULL_REPORT.json`` (UTF-8, sorted keys)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_FILE
    _atomic_write(path, json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True, default=str))
    return path

