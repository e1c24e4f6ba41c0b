"""Report labels of the hygiene analysis; merged into :data:`salesaudit.i18n.LABELS`."""

LABELS_HYGIENE: dict[str, dict[str, str]] = {}
