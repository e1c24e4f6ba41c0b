"""Pull a CRM's data, stage history included, straight from its API (``salesaudit pull``).

=============================================  ===========================================================
``bitrix24.pull(webhook, out, ...)``            Bitrix24 through an inbound webhook (REST, read methods only)
``amocrm.pull(subdomain, token, out, ...)``     amoCRM through a long-lived token (API v4, read only)
:class:`~.common.Secret`                        a webhook or token, shown masked everywhere
:class:`~.common.PullError`                     one paragraph: what failed, where, what to do
:class:`~.common.Http`                          rate-limited, retrying JSON client the CRM modules build on
:class:`~.common.Store`, :class:`~.common.State`  keyed CSV tables and resumable cursors of a pull folder
:func:`~.common.write_funnel`                   a funnel YAML from a pipeline's stages and semantics
:func:`~.common.write_config_draft`             a run-config draft pointing at the pulled folder
:func:`~.common.completeness`                   how whole the stage history is (PULL_REPORT.json)
=============================================  ===========================================================

The CRM modules import ``httpx`` (the ``pull`` extra): import them explicitly,
``from salesaudit.pull import bitrix24``.
"""
from .common import (
    REPORT_FILE,
    STATE_FILE,
    Http,
    PullError,
    Secret,
    State,
    Store,
    completeness,
    mask,
    progress,
    write_config_draft,
    write_funnel,
    write_report,
)

__all__ = [
    "Http",
    "PullError",
    "Secret",
    "State",
    "Store",
    "completeness",
    "mask",
    "progress",
    "write_config_draft",
    "write_funnel",
    "write_report",
    "REPORT_FILE",
    "STATE_FILE",
]
