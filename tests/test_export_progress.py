"""``export``'s progress against the totals of its plan (issue 16): the ``--json`` progress
events carry ``total_files``/``total_bytes``/``percent``/``elapsed_s``/``eta_s`` as ``snap``'s do,
and the live line on a real terminal (a pseudo-terminal) says ``done/total files``, bytes,
percent, rate and elapsed time, also when the archive goes to stdout (whose JSON summary then
goes to stderr)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from archives import invoke, ok
from helpers import cli_env, make_tree, stderr_on_a_terminal

#: 12 files, 5,000 bytes each but the last (0 bytes): 55,000 bytes
TREE = {f"d{i % 3}/f{i:02}.bin": os.urandom(5_000 if i < 11 else 0) for i in range(12)}


def _repo(tmp_path: Path) -> dict[str, str]:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    src = make_tree(tmp_path / "src", TREE)
    ok(invoke(["snap", str(src), "-q"], env))
    return env


def test_json_progress_events_carry_the_totals(tmp_path: Path) -> None:
    env = _repo(tmp_path)
    out = ok(invoke(["export", "latest", "-o", str(tmp_path / "a.tar.zst"), "--json"], env))
    *progress, summary = out.json_lines()
    assert summary["event"] == "summary" and (summary["files"], summary["bytes"]) == (12, 55_000)
    assert progress and all(e["event"] == "progress" for e in progress), progress
    first = progress[0]  # the first file is reported at once
    assert (first["files"], first["total_files"], first["total_bytes"]) == (1, 12, 55_000)
    assert first["percent"] == round(100 * first["bytes"] / 55_000, 1)
    assert first["elapsed_s"] >= 0 and "eta_s" in first and first["current"].endswith(".bin")
    # The totals are the export's own (its plan), not the snapshot's: here the 4 files of d1.
    sub = ok(invoke(["export", "latest", "-o", str(tmp_path / "b.tar"), "--json",
                     "--include", "**/d1/*"], env))
    assert [(e["total_files"], e["total_bytes"]) for e in sub.json_lines()[:-1]] == [
        (4, 20_000)]


def test_progress_events_reach_the_totals(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from snapkit.ops.events import Event, FileWritten
    from snapkit.ops.export import export_to

    for name, value in _repo(tmp_path).items():  # (the same config, none, as the CLI's)
        monkeypatch.setenv(name, value)
    seen: list[Event] = []
    export_to(tmp_path / "repo", "latest", str(tmp_path / "a.tar"), progress_interval=0,
              on_event=seen.append)
    written = [e for e in seen if isinstance(e, FileWritten)]
    assert [(e.files, e.total_files) for e in written] == [(n, 12) for n in range(1, 13)]
    assert (written[-1].bytes, written[-1].total_bytes) == (55_000, 55_000)


def _on_a_terminal(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the CLI with stderr on a 160-column pseudo-terminal; what it wrote there."""
    return stderr_on_a_terminal(argv, env, cwd, columns=160)


@pytest.mark.parametrize("output", ["a.tar.gz", "-"])
def test_the_terminal_line_shows_done_of_the_totals(tmp_path: Path, output: str) -> None:
    env = {**_repo(tmp_path), "TERM": "xterm"}
    shown = _on_a_terminal(["export", "latest", "-o", output], env, cwd=tmp_path)
    lines = [part for part in shown.split("\r\x1b[2K") if part.strip()]
    first = next(line for line in lines if " files  " in line)
    # (no rate in a first frame milliseconds in, of 4.9 KiB: it would be noise)
    assert re.match(r"1/12 files  4\.9 KiB/53\.7 KiB  9%  0:00  \S+f00\.bin$", first), lines
    if output != "-":
        assert lines[-1].startswith("exported snapshot "), lines  # the line was cleared first
    else:
        assert shown.endswith("\r\x1b[2K"), lines  # the line cleared, and nothing else said


def test_json_with_the_archive_on_stdout_keeps_stdout_the_archive(tmp_path: Path) -> None:
    env = _repo(tmp_path)
    ok(invoke(["export", "latest", "-o", str(tmp_path / "a.tar")], env))
    out = ok(invoke(["export", "latest", "-o", "-", "--format", "tar", "--json"], env))
    assert out.stdout == (tmp_path / "a.tar").read_bytes()  # no JSON in it
    summary = json.loads(out.stderr)
    assert (summary["event"], summary["archive"], summary["files"]) == ("summary", "-", 12)
