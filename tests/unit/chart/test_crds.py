"""The chart's CRDs are crds/ itself: byte for byte, except the keep annotation when crds.keep."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import yaml

from tests.unit.chart.helm import CHART, CRDS, kinds, render, run_helm

KEEP = {
    "helm.sh/resource-policy": "keep",
    "argocd.argoproj.io/sync-options": "Delete=false,Prune=false",
}
KEEP_LINES = "".join(["  annotations:\n", *(f"    {k}: {v}\n" for k, v in KEEP.items())])


def source_crds() -> dict[str, str]:
    """crds/*.yaml by CRD name -> file text."""
    files = sorted(CRDS.glob("*.yaml"))
    assert len(files) == 2
    return {yaml.safe_load(f.read_text())["metadata"]["name"]: f.read_text() for f in files}


def test_chart_reads_crds_through_a_symlink_to_crds_dir() -> None:
    link = CHART / "files" / "crds"
    assert link.is_symlink(), "charts/fks-operator/files/crds must stay a symlink (no copy)"
    assert os.readlink(link) == "../../../crds"
    assert link.resolve() == CRDS.resolve()


def test_rendered_crds_are_the_source_files_byte_for_byte() -> None:
    rendered = {
        d.name: d for d in kinds(render({"crds": {"keep": False}}), "CustomResourceDefinition")
    }
    sources = source_crds()
    assert sorted(rendered) == sorted(sources)
    for name, text in sources.items():
        # helm drops nothing and adds nothing but the "# Source:" line (split off by render())
        # and the document separator (which takes the file's final newline)
        assert rendered[name].text.rstrip("\n") == text.rstrip("\n"), name


def test_kept_crds_differ_only_by_the_keep_annotation() -> None:
    rendered = {d.name: d for d in kinds(render("defaults"), "CustomResourceDefinition")}
    for name, text in source_crds().items():
        doc = rendered[name]
        assert doc.obj["metadata"]["annotations"] == KEEP
        # bytes: removing the two inserted lines gives the source file back
        assert doc.text.count(KEEP_LINES) == 1
        assert doc.text.replace(KEEP_LINES, "", 1).rstrip("\n") == text.rstrip("\n"), name
        # parsed: the same object plus the annotation
        expected = yaml.safe_load(text)
        expected["metadata"]["annotations"] = KEEP
        assert doc.obj == expected


def test_crds_can_be_left_out() -> None:
    assert not kinds(render("crds-disabled"), "CustomResourceDefinition")


def test_missing_crd_files_fail_with_a_clear_message(tmp_path: Path) -> None:
    """A checkout without symlinks (files/crds a plain file) must not install no CRDs silently."""
    chart = tmp_path / "fks-operator"
    shutil.copytree(CHART, chart, symlinks=True)
    (chart / "files" / "crds").unlink()
    (chart / "files" / "crds").write_text("../../../crds")  # what git writes without symlinks
    result = run_helm("template", "x", str(chart), check=False)
    assert result.returncode != 0
    assert "the chart has no CRDs in files/crds" in result.stderr
    # ... and with the CRDs installed separately, the rest still renders
    run_helm("template", "x", str(chart), "--set", "crds.enabled=false")


def test_packaged_chart_carries_the_crd_files_themselves(tmp_path: Path) -> None:
    """`helm package` (what a chart repository serves) stores files, not the symlink."""
    run_helm("package", str(CHART), "--destination", str(tmp_path))
    (archive,) = tmp_path.glob("fks-operator-*.tgz")
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers() if "/files/crds/" in m.name}
        assert sorted(Path(n).name for n in members) == sorted(p.name for p in CRDS.glob("*.yaml"))
        for name, member in members.items():
            assert member.isfile(), f"{name} is not a regular file"
            extracted = tar.extractfile(member)
            assert extracted is not None
            assert extracted.read() == (CRDS / Path(name).name).read_bytes(), name
