"""Report labels of the leads analysis; merged into :data:`salesaudit.i18n.LABELS`."""

LABELS_LEADS: dict[str, dict[str, str]] = {}
