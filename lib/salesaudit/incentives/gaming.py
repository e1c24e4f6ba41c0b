"""What each scheme pays for gaming: moving closes across a month end, or discounting to close.

For every pair of consecutive months of the history, a deal of ``shift_amount`` (the mean won
deal unless given) is

* **pulled in**: counted in the earlier month instead of the later one;
* **pushed out** (sandbagging): counted in the later month instead of the earlier one;
* **discounted to close**: pulled in at ``discount_pct`` off — revenue falls by the discount and
  the gross margin by the same money.

The gain is the head's pay over the two months (and quarters) with the move minus without it,
from :func:`~salesaudit.incentives.schemes.payout` on the whole history, so thresholds,
accelerators, caps and quarterly growth all show. A scheme linear in revenue pays nothing for
moving a deal; one with a threshold pays a lot in the months near it. For a discount the owner
loses the discount itself plus any extra pay.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .schemes import Scheme, payout

__all__ = ["gaming"]


def _shift(inputs, i, j, amount, margin_share, discount=0.0):
    """Move ``amount`` of revenue from month ``j`` into month ``i`` (at ``discount`` off in ``i``)."""
    df = inputs.copy()
    got = amount * (1.0 - discount)
    for col, sign, row, value in (("dept_revenue", 1, i, got), ("dept_revenue", -1, j, amount)):
        df.loc[df.index[row], col] = df[col].iloc[row] + sign * value
    df.loc[df.index[i], "dept_margin"] = df["dept_margin"].iloc[i] + amount * margin_share - amount * discount
    df.loc[df.index[j], "dept_margin"] = df["dept_margin"].iloc[j] - amount * margin_share
    return df


def gaming(schemes: dict[str, Scheme], inputs: pd.DataFrame, assumptions) -> pd.DataFrame:
    """Per scheme: the mean and the largest gain for the head from a pull-in, a push-out and a
    discount-to-close over the history's month ends, the share of month ends where gaming pays,
    and the owner's mean loss from a discount-to-close. ``attrs``: ``shift_amount``, ``discount_pct``."""
    g = assumptions.gaming
    amount = g.shift_amount
    if amount is None:
        won = inputs["deals_won"].sum() if "deals_won" in inputs.columns else 0
        amount = float(inputs["dept_revenue"].sum() / won) if won else float(inputs["dept_revenue"].mean() * 0.05)
    m = assumptions.margin_pct / 100.0
    d = g.discount_pct / 100.0
    n = len(inputs)
    rows = []
    for key, s in schemes.items():
        base = payout(s, inputs)["cost"].sum()
        pull, push, disc = [], [], []
        for i in range(n - 1):
            pull.append(payout(s, _shift(inputs, i, i + 1, amount, m))["cost"].sum() - base)
            push.append(payout(s, _shift(inputs, i + 1, i, amount, m))["cost"].sum() - base)
            disc.append(payout(s, _shift(inputs, i, i + 1, amount, m, d))["cost"].sum() - base)
        pull, push, disc = (np.asarray(x, dtype=float) for x in (pull, push, disc))
        if not len(pull):
            continue
        rows.append({"scheme": key, "pull_in_mean": float(pull.mean()), "pull_in_max": float(pull.max()),
                     "push_out_mean": float(push.mean()), "push_out_max": float(push.max()),
                     "discount_mean": float(disc.mean()), "discount_max": float(disc.max()),
                     "months_gaming_pays_pct": 100.0 * float(np.mean(np.maximum(pull, push) > 0.5)),
                     "owner_loss_discount_mean": float(amount * d + disc.mean())})
    out = pd.DataFrame(rows)
    out.attrs.update(shift_amount=amount, discount_pct=g.discount_pct)
    return out
