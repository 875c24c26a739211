"""Containment (issue 13): one damaged object never blocks the rest of the repository.

A snapshot manifest that does not match its id, or an index file that does not decode, is
skipped with one warning line naming the repair; every command keeps working on everything
else, and what is read from undamaged snapshots is byte-identical.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import CliResult, env_for, invoke_main, make_tree, restored


def _run(base: Path, *args: str) -> CliResult:
    return invoke_main(list(args), env_for(base))


def _snap(base: Path, src: Path) -> str:
    out = _run(base, "snap", "-q", str(src))
    assert out.code == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def three(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Three snapshots of one source, each run with its own index file."""
    src = make_tree(tmp_path / "src", {"a.txt": b"a" * 100, "d/b.txt": b"b" * 200})
    ids = [_snap(tmp_path, src)]
    (src / "a.txt").write_bytes(b"A" * 150)
    ids.append(_snap(tmp_path, src))
    (src / "c.txt").write_bytes(b"c" * 50)
    ids.append(_snap(tmp_path, src))
    return tmp_path, src, ids


def _warnings(out: CliResult) -> list[str]:
    return [line for line in out.stderr.splitlines() if line.startswith("snapkit: warning:")]


def test_a_damaged_manifest_is_skipped_by_every_command(
    three: tuple[Path, Path, list[str]]
) -> None:
    base, src, (s1, s2, s3) = three
    manifest = base / "repo" / "snapshots" / s2
    manifest.write_bytes(manifest.read_bytes()[:-5])

    listed = _run(base, "snapshots", "--json")
    assert listed.code == 0, listed.stderr
    assert [row["id"] for row in listed.json()] == [s1, s3]
    (warning,) = _warnings(listed)
    assert s2 in warning and "snapkit repair snapshots --forget" in warning

    for sid in (s1, s3):
        target = base / f"r-{sid[:8]}"
        out = _run(base, "restore", sid, "--target", str(target))
        assert out.code == 0, out.stderr
        assert (restored(target, src) / "d" / "b.txt").read_bytes() == b"b" * 200
    assert _run(base, "restore", "latest", "--target", str(base / "latest")).code == 0
    diff = _run(base, "diff", s1, s3)
    assert diff.code == 0 and "c.txt" in diff.stdout, diff.stderr
    assert _run(base, "ls", s3).code == 0
    assert _run(base, "snap", "-q", str(src)).code == 0
    named = _run(base, "restore", s2, "--target", str(base / "bad"))
    assert named.code == 1  # asked for by name: the warning, then a one-line error
    *_, error = named.stderr.strip().splitlines()
    assert error.startswith("snapkit: error:") and s2 in error and "damaged" in error
    forget = _run(base, "forget", "--keep-last", "1")
    assert forget.code == 0, forget.stderr
    left = [row["id"] for row in _run(base, "snapshots", "--json").json()]
    assert len(left) == 1 and s2 not in left
    assert (base / "repo" / "snapshots" / s2).exists()  # never removed without a repair


def test_a_damaged_index_file_is_skipped_and_named(three: tuple[Path, Path, list[str]]) -> None:
    """The third run's index file is garbage: its blobs (c.txt and the new trees) look
    missing; the first two snapshots are untouched and everything still opens."""
    base, src, (s1, s2, s3) = three
    index = base / "repo" / "index"
    newest = max(index.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    newest.write_bytes(b"\x00" * 40)

    listed = _run(base, "snapshots")  # manifests only: the index is not read
    assert listed.code == 0 and not _warnings(listed), listed.stderr
    for sid in (s1, s2):
        target = base / f"r-{sid[:8]}"
        out = _run(base, "restore", sid, "--target", str(target))
        assert out.code == 0, out.stderr
        (warning,) = _warnings(out)  # named by every command that reads the index
        assert newest.name in warning and "snapkit repair index" in warning
        files = sorted(os.listdir(restored(target, src)))
        assert files == ["a.txt", "d"]
    out = _run(base, "restore", s3, "--target", str(base / "r3"))
    assert out.code == 1  # its root tree was only in that index file
    assert _run(base, "diff", s1, s2).code == 0


def test_a_damaged_config_opens_with_the_defaults(three: tuple[Path, Path, list[str]]) -> None:
    base, src, (_s1, _s2, s3) = three
    (base / "repo" / "config").write_bytes(b"{not json")
    out = _run(base, "restore", s3, "--target", str(base / "r"))
    assert out.code == 0, out.stderr
    (warning,) = _warnings(out)
    assert "config is damaged" in warning and "snapkit repair config" in warning
    assert (restored(base / "r", src) / "c.txt").read_bytes() == b"c" * 50
    (src / "new.txt").write_bytes(b"n")
    assert _run(base, "snap", "-q", str(src)).code == 0  # dedups as before: same parameters
    assert _run(base, "snapshots").code == 0


def test_a_folder_that_is_no_repository_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "config").write_bytes(b"{not json")
    out = _run(tmp_path, "snapshots")
    assert out.code == 10, out.stderr
    assert "not a snapkit repository config" in out.stderr
