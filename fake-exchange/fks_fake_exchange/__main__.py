"""``python -m fks_fake_exchange`` / the ``fks-fake-exchange`` console script."""

from __future__ import annotations

import sys


def main() -> None:
    from fks_fake_exchange.cli import main as run

    sys.exit(run())


if __name__ == "__main__":
    main()
