"""Who is compared with whom: the team baseline is made of comparable deals.

A manager is judged against the rest of the team. The team must be people who sell: deals with
no manager (unassigned, auto-declined by a form), deals of a CRM robot or integration user, and
the head of sales' own deals are not what a manager should be compared with. They are reported
in rows of their own (one per group) and left out of the team baseline and of the
manager-vs-team tests. The groups are codes (:data:`GROUPS`); the report layer names them.

* ``no_manager``: the deal's manager is empty;
* ``system``: the manager is in the run config's ``system_owners`` (ids or names);
* ``head_of_sales``: the manager is the head of sales (the managers table's role, or the run
  config's ``head_of_sales``);
* ``manager``: everyone else — the team.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["GROUPS", "TEAM", "PEOPLE", "owner_group", "deal_groups", "team_mask", "people_mask", "excluded_summary"]

#: the owner groups, the team first
GROUPS = ("manager", "no_manager", "system", "head_of_sales")
#: the group the team baseline and the manager-vs-team tests are made of
TEAM = "manager"
#: the department's people: the team and the head of sales (whose time a stage's time is, whose deals are won by people)
PEOPLE = ("manager", "head_of_sales")


def _names(ds) -> dict[str, str]:
    """manager id -> name (from the managers table), for matching config entries given by name."""
    if not ds.has("managers"):
        return {}
    m = ds.tables["managers"]
    return {str(k): str(v) for k, v in zip(m["manager"], m["name"]) if pd.notna(k) and pd.notna(v)}


def _matches(values, ids: set[str], names: dict[str, str]) -> np.ndarray:
    wanted = {s.strip().casefold() for s in ids if str(s).strip()}
    if not wanted:
        return np.zeros(len(values), dtype=bool)
    out = []
    for v in values:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append(False)
            continue
        key = str(v)
        out.append(key.casefold() in wanted or names.get(key, "").strip().casefold() in wanted)
    return np.asarray(out, dtype=bool)


def head_ids(ds) -> set[str]:
    """The manager ids of the head of sales (managers table role, else the config's ``head_of_sales``)."""
    ids: set[str] = set()
    if ds.has("managers"):
        m = ds.tables["managers"]
        ids |= {str(x) for x in m.loc[m["role"] == "head_of_sales", "manager"].dropna()}
    head = getattr(ds.config, "head_of_sales", None)
    if head:
        names = _names(ds)
        wanted = head.strip().casefold()
        ids |= {k for k, v in names.items() if k.casefold() == wanted or v.strip().casefold() == wanted}
        ids.add(head.strip())
    return ids


def owner_group(ds, managers) -> np.ndarray:
    """The owner group (:data:`GROUPS`) of each value of a manager column (deals, leads, stays).

    >>> from types import SimpleNamespace as NS
    >>> ds = NS(config=NS(system_owners=["Robot"], head_of_sales="h1"), has=lambda t: False)
    >>> owner_group(ds, ["m1", None, "robot", "h1"]).tolist()
    ['manager', 'no_manager', 'system', 'head_of_sales']
    """
    # each distinct value is judged once (a column of 100,000 deals has a few hundred managers)
    codes, uniques = pd.factorize(pd.Series(managers if not isinstance(managers, pd.Series) else managers.to_numpy(), dtype=object),
                                  use_na_sentinel=True)
    values = list(uniques)
    names = _names(ds)
    empty = np.asarray([v is None or (not isinstance(v, str) and pd.isna(v)) or (isinstance(v, str) and not v.strip()) for v in values], dtype=bool)
    system = _matches(values, set(getattr(ds.config, "system_owners", []) or []), names)
    head = _matches(values, head_ids(ds), names)
    group = np.full(len(values) + 1, TEAM, dtype=object)  # the last: a missing value (code -1)
    group[:-1][head] = "head_of_sales"
    group[:-1][system] = "system"
    group[:-1][empty] = "no_manager"
    group[-1] = "no_manager"
    return group[codes]


def deal_groups(ds) -> pd.Series:
    """The owner group of every deal (indexed like the deals table)."""
    d = ds.tables["deals"]
    return pd.Series(owner_group(ds, d["manager"]), index=d.index, name="owner_group")


def team_mask(ds, managers) -> np.ndarray:
    """True where a manager column's value belongs to the team (what baselines and tests use)."""
    return owner_group(ds, managers) == TEAM


def people_mask(groups) -> np.ndarray:
    """True where an owner group (a column of :data:`GROUPS` codes) is one of the department's :data:`PEOPLE`."""
    return np.isin(np.asarray(groups, dtype=object), PEOPLE)


def excluded_summary(ds) -> pd.DataFrame:
    """Deals per owner group outside the team: ``owner_group, deals, won, lost, open`` (empty groups left out)."""
    d = ds.tables["deals"]
    g = owner_group(ds, d["manager"])
    rows = []
    for group in GROUPS[1:]:
        sel = g == group
        if sel.any():
            out = d.loc[sel, "outcome"]
            rows.append({"owner_group": group, "deals": int(sel.sum()), "won": int((out == "won").sum()),
                         "lost": int((out == "lost").sum()), "open": int((out == "open").sum())})
    return pd.DataFrame(rows, columns=["owner_group", "deals", "won", "lost", "open"])
