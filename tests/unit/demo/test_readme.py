"""README stays true: the quickstart is exactly `make demo` and `make test` (both Makefile
targets), every relative link resolves, and every doc in docs/ is in its index."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_quickstart_is_make_demo_and_make_test() -> None:
    first_block = re.search(r"```bash\n(.*?)```", section("Quickstart"), re.S)
    assert first_block
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no {target} target"


def test_relative_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    relative = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert relative
    missing = [link for link in relative if not (ROOT / link).exists()]
    assert missing == []


def test_every_doc_is_in_the_index() -> None:
    index = section("Documentation")
    unlisted = [
        p.name for p in sorted((ROOT / "docs").glob("*.md")) if f"(docs/{p.name})" not in index
    ]
    assert unlisted == [], "add them to README's Documentation table"
