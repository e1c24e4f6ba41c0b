"""The audit's analyses, one module per area: data quality, funnel, stalls, leads, plan vs fact, hygiene, scorecard, meeting."""


def reusable(result, matches) -> bool:
    """Whether a result a caller passed (notebook 07 computes leads, funnel and stalls once for the
    scorecard and the findings) can be read: given, and ``matches(result)``, made with the settings
    the analysis needs; otherwise the analysis computes its own."""
    return result is not None and bool(matches(result))
