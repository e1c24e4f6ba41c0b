"""``python -m salesaudit.incentives``: print the scheme reference (docs/incentives.md)."""
from .schemes import markdown_reference

print(markdown_reference(), end="")
