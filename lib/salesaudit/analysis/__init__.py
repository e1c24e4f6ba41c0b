"""The audit's analyses, one module per area: data quality, funnel, stalls, leads, plan vs fact, hygiene, scorecard, meeting."""
