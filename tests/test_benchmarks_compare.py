"""Smoke tests of ``benchmarks.compare`` (the side-by-side suite of issue 14): the report writer
on made-up samples (ratios, missing peers, the issue's targets), and the smallest scenario
(start-up, ``--quick``, snapkit only) end to end in a temporary base dir. No timing is checked:
performance targets live in the benchmark, never in tests."""

from __future__ import annotations

from pathlib import Path

from benchmarks import compare
from benchmarks.compare_peers import Sample
from benchmarks.compare_report import Report, Result, Row, dump, load, merge, render, targets


def _row(tool: str, *walls: float, stored: int | None = None, floor: bool = False) -> Row:
    return Row(tool, tuple(Sample(w, 50 * 2**20, True) for w in walls), stored, floor=floor)


def test_report_ratios_missing_peers_and_targets() -> None:
    first = Result("stdlib/first", "stdlib: first snapshot", (
        _row("snapkit", 1.0, 1.2, stored=90),
        _row("restic", 1.6, 1.7, stored=100),
        _row("borg", 2.0, 2.5, stored=80),
        Row("openclaw", missing="not installed"),
        _row("python read", 0.25, 0.3, floor=True),
    ))
    start = Result("startup", "start-up", (
        _row("snapkit", 0.05), _row("python -c pass", 0.01, floor=True)))
    broken = Result("stdlib/unchanged", "stdlib: unchanged", (
        Row("snapkit", (Sample(0.5, 0, False, "exit 2: boom"),)),
        _row("python walk", 0.1, floor=True)))
    report = Report("python -m benchmarks.compare --quick", "2 CPUs", ("restic 0.14",),
                    ("stdlib: 7 files, 1 MB",), ("a note",), (first, start, broken))
    text = render(report)
    row = "| **snapkit** | 1.00 s | 1.10 s | 2 | 50 MiB | 0.0 MB | 0.90× | 0.62× restic | 4.00× |"
    assert row in text
    assert "| openclaw | not installed |" in text
    assert "exit 2: boom" in text
    assert "`python -m benchmarks.compare --quick`" in text
    got = {t: met for t, _, met in targets(report.results)}
    assert got["start-up `snapkit --help` ≤ 3× a bare interpreter"] == "**no**"
    title = ("stdlib: first snapshot: ≥ 1.5× faster than the faster of restic and borg, "
             "stored ≤ restic's")
    assert got[title] == "yes"  # 1.6 / 1.0 and 90 <= 100
    assert not any(t.startswith("stdlib: unchanged") for t in got)  # failed runs check nothing


def test_s3_targets_divide_by_the_local_directory() -> None:
    local = "snapkit, local directory"
    first = Result("s3-stdlib/first", "stdlib on S3: first snapshot", (
        _row("snapkit", 2.5, 3.0), _row(local, 1.0, 1.1, floor=True)))
    restore = Result("s3-stdlib/restore", "stdlib on S3: restore", (
        _row("snapkit", 1.9), _row(local, 1.0, floor=True)))
    got = {t: (m, met) for t, m, met in targets([first, restore])}
    assert got["stdlib on S3: first snapshot: ≤ 2× the same on a local directory"] == (
        "2.50× (2.50 s vs 1.00 s)", "**no**")
    assert got["stdlib on S3: restore: ≤ 2× the same on a local directory"][1] == "yes"
    assert len(got) == 2  # no restic/borg/tar targets for the S3 scenario
    assert "| floor: snapkit, local directory | 1.00 s |" in render(Report(
        "c", "m", (), (), (), (first,)))


def test_report_saved_and_merged(tmp_path: Path) -> None:
    old = Report("cmd one", "m", ("v",), ("a",), ("n1",), (
        Result("a/first", "a", (_row("snapkit", 1.0),)),
        Result("b/first", "b", (_row("snapkit", 2.0),))))
    dump(old, tmp_path / "r.json")
    assert load(tmp_path / "r.json") == old
    new = Report("cmd two", "m", ("v",), ("b",), ("n2",), (
        Result("b/first", "b", (_row("snapkit", 3.0),)),))
    both = merge(old, new)
    assert [(r.key, r.rows[0].min) for r in both.results] == [("a/first", 1.0), ("b/first", 3.0)]
    assert both.command == "cmd one`, then `cmd two" and both.datasets == ("a", "b")


def test_quick_startup_snapkit_only(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    code = compare.main(["--quick", "--only-snapkit", "--scenarios", "startup",
                         "--base", str(tmp_path / "base"), "--out", str(out)])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "### start-up" in text and "| **snapkit** |" in text
    assert "| floor: python -c pass |" in text
    assert "## Targets of issue 14" in text
    assert not (tmp_path / "base" / "work").exists()  # the work dir is removed
