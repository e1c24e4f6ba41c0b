"""``python -m salesaudit.incentives``: print the scheme reference (docs/incentives.md)."""
from .schemes import markdown_reference

if __name__ == "__main__":  # pragma: no cover
    print(markdown_reference(), end="")
