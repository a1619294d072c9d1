"""Command-line entry point (filled in by its issue)."""

from __future__ import annotations

import sys


def main() -> None:
    sys.exit("not implemented yet")


if __name__ == "__main__":
    main()
