"""Report labels of the planfact analysis; merged into :data:`salesaudit.i18n.LABELS`."""

LABELS_PLANFACT: dict[str, dict[str, str]] = {}
