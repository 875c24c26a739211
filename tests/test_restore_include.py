"""``restore --include/--exclude`` take paths relative to a source, as ``ls`` and ``cat`` do, and
an ``--include`` that matches nothing is a warning (issue 11, item 13). It used to print
"restored 0 files" and exit 0 for ``--include credentials/oauth.json``, which ``cat`` finds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CliResult, cli_env, init_repo, invoke_main, make_tree, restored, take


@pytest.fixture
def world(tmp_path: Path) -> tuple[dict[str, str], Path, Path, Path]:
    state = make_tree(tmp_path / "state", {
        "openclaw.json": b"{}\n",
        "credentials/oauth.json": b'{"token": 1}\n',
        "credentials/other.json": b"{}\n",
        "sessions/s.jsonl": b"{}\n",
        "sessions/credentials/nested.txt": b"n\n",
    })
    odd = make_tree(tmp_path / "we[ir]d *dir", {"credentials/oauth.json": b"odd\n",
                                                  "x.txt": b"x\n"})
    repo = init_repo(tmp_path / "repo")
    take(repo, state, odd)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    return env, state, odd, tmp_path / "target"


def restore(env: dict[str, str], target: Path, *args: str) -> CliResult:
    out = invoke_main(["restore", "latest", "--target", str(target), *args], env)
    assert out.code == 0, out.stderr
    return out


def files_below(target: Path) -> set[str]:
    return {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()}


def test_include_relative_to_a_source_as_cat_takes_it(
    world: tuple[dict[str, str], Path, Path, Path]
) -> None:
    env, state, odd, target = world
    assert invoke_main(["cat", "latest", "credentials/oauth.json"], env).code == 0
    out = restore(env, target, "--include", "credentials/oauth.json")
    assert "warning" not in out.stderr
    # In every source that has it (the second one's name is full of glob characters).
    assert files_below(target) == {
        str(restored(target, state / "credentials/oauth.json"))[len(str(target)) + 1:],
        str(restored(target, odd / "credentials/oauth.json"))[len(str(target)) + 1:],
    }
    assert restored(target, state / "credentials/oauth.json").read_bytes() == b'{"token": 1}\n'


@pytest.mark.parametrize(("args", "want"), [
    (["--include", "credentials/**"], {"credentials/oauth.json", "credentials/other.json"}),
    # Without an inner "/", a gitignore pattern names a directory at any depth.
    (["--include", "credentials/"], {"credentials/oauth.json", "credentials/other.json",
                                     "sessions/credentials/nested.txt"}),
    (["--include", "openclaw.json"], {"openclaw.json"}),
    (["--include", "./sessions/s.jsonl"], {"sessions/s.jsonl"}),
    # A name without a slash still matches at any depth, as before.
    (["--include", "*.jsonl"], {"sessions/s.jsonl"}),
    # Absolute patterns as before.
    (["--include", "{state}/credentials/other.json"], {"credentials/other.json"}),
    # Excludes are relative to a source too; "!" works as in gitignore.
    (["--exclude", "sessions/", "--exclude", "credentials/oauth.json"],
     {"openclaw.json", "credentials/other.json"}),
    (["--include", "credentials/*", "--include", "!credentials/other.json"],
     {"credentials/oauth.json"}),
])
def test_patterns_in_the_state_source(world: tuple[dict[str, str], Path, Path, Path],
                                      args: list[str], want: set[str]) -> None:
    env, state, _, target = world
    restore(env, target, *[a.format(state=state) for a in args])
    base = restored(target, state)
    got = {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()} if base.exists() \
        else set()
    assert got == want


def test_an_include_that_matches_nothing_warns(
    world: tuple[dict[str, str], Path, Path, Path]
) -> None:
    env, state, _, target = world
    out = restore(env, target, "--include", "credentials/oauth.jsn")
    warning = [line for line in out.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1, out.stderr
    assert "--include 'credentials/oauth.jsn' matches nothing" in warning[0]
    assert "snapkit ls" in warning[0]
    assert "restored 0 files" in out.text
    assert not target.exists() or files_below(target) == set()
    # One pattern of two: the other one still restores, the typo is named.
    out = restore(env, target, "--include", "openclaw.json", "--include", "typo/**")
    assert [line for line in out.stderr.splitlines() if "warning" in line] == [
        line for line in out.stderr.splitlines() if "'typo/**' matches nothing" in line]
    assert "'openclaw.json'" not in out.stderr
    assert restored(target, state / "openclaw.json").exists()
    # JSON says it too; -q does not hide the warning.
    doc = invoke_main(["restore", "latest", "-t", str(target), "--dry-run", "--json", "-q",
                       "--include", "nope"], env)
    assert doc.code == 0
    assert doc.json_lines()[-1]["unmatched_includes"] == ["nope"]
    assert "'nope' matches nothing" in doc.stderr
