"""How the head of sales' coaching time lifts the team's conversion.

One small model, shared by the capacity simulation (:mod:`salesaudit.sim`) and
the incentive focus model (:mod:`salesaudit.incentives`):

* coaching hours build a *skill stock* that carries over from period to period
  (``carryover``) and shows only after ``lag`` periods;
* the stock lifts conversion with diminishing returns,
  ``multiplier = 1 + max_lift * S / (S + half_hours)``.

The stock is normalised so that coaching ``h`` hours every period settles at
``S = h``: ``half_hours`` reads as "the steady monthly hours that give half the
maximum lift". None of these numbers can be estimated from a CRM export; they
are assumptions, shown next to every result that uses them.

>>> effect = CoachingEffect(max_lift=0.2, half_hours=20, lag=1, carryover=0.5)
>>> effect.multiplier([20, 20, 20, 20]).round(4).tolist()
[1.0, 1.0667, 1.0857, 1.0933]
>>> float(effect.steady_multiplier(20))
1.1
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

__all__ = ["CoachingEffect"]


@dataclass(frozen=True)
class CoachingEffect:
    """Coaching hours → conversion multiplier, with a lag, carry-over and saturation."""

    #: the largest relative lift of conversion (0.15 = +15 %) at unlimited coaching
    max_lift: float = 0.15
    #: steady coaching hours per period that give half of ``max_lift``
    half_hours: float = 20.0
    #: periods before an hour of coaching starts to show
    lag: int = 1
    #: share of the skill stock kept from one period to the next (0 ≤ carryover < 1)
    carryover: float = 0.6

    def __post_init__(self):
        if not 0 <= self.carryover < 1:
            raise ValueError(f"carryover must be in [0, 1), got {self.carryover}")
        if self.max_lift < 0 or self.half_hours <= 0 or self.lag < 0:
            raise ValueError("max_lift must be >= 0, half_hours > 0 and lag >= 0")

    def stock(self, hours: Sequence[float], initial: float = 0.0) -> np.ndarray:
        """Skill stock per period from the coaching hours of each period.

        ``initial`` is the stock before the first period (and stands for the
        hours of the ``lag`` periods before it).
        """
        h = np.asarray(hours, dtype=float)
        out = np.empty(len(h))
        s = float(initial)
        for t in range(len(h)):
            came = h[t - self.lag] if t >= self.lag else initial
            s = self.carryover * s + (1.0 - self.carryover) * came
            out[t] = s
        return out

    def lift(self, stock) -> np.ndarray:
        """Relative lift (0.1 = +10 %) for a skill stock."""
        s = np.maximum(np.asarray(stock, dtype=float), 0.0)
        return self.max_lift * s / (s + self.half_hours)

    def multiplier(self, hours: Sequence[float], initial: float = 0.0) -> np.ndarray:
        """Conversion multiplier per period for a sequence of coaching hours."""
        return 1.0 + self.lift(self.stock(hours, initial))

    def steady_multiplier(self, hours: float) -> float:
        """The multiplier once ``hours`` per period have been kept up for long."""
        return float(1.0 + self.lift(hours))

    def as_dict(self) -> dict:
        return asdict(self)
