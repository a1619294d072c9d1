"""Write the CRDs in crds/ from the models in operator/fks_operator/api/ (``make generate``).

``--check`` writes nothing and exits 1 naming the files that differ (what CI and the unit test
tests/unit/operator/test_crds_generated.py check). The chart reads crds/ through its
files/crds symlink, so it has no copy to regenerate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fks_operator.api.crds import CRDS, render_crd

ROOT = Path(__file__).resolve().parents[1]
CRD_DIR = ROOT / "crds"


def generated() -> dict[Path, str]:
    """Every file the generator owns, with its content."""
    return {CRD_DIR / crd.file_name: render_crd(crd) for crd in CRDS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a diff")
    args = parser.parse_args(argv)
    stale = [path for path, text in generated().items() if _read(path) != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is not the generated output: run make generate")
        return 1 if stale else 0
    for path in stale:
        path.write_text(generated()[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
