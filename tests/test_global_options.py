"""Global options: a flag given on the command line beats its environment variable, whether it
stands before the command (``snapkit --repo B snapshots``) or after it, through the real entry
point. Issue 11, item 0: with ``SNAPKIT_REPO=A``, ``snapkit --repo B snapshots`` listed A, so a
``forget --prune`` meant for B would have pruned A.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import CliResult, cli_env, invoke_main, make_tree


def both_positions(command: Sequence[str], option: Sequence[str]) -> list[list[str]]:
    """``snapkit OPTION COMMAND`` and ``snapkit COMMAND OPTION``."""
    return [[*option, *command], [*command, *option]]


@pytest.fixture
def two_repos(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """Repositories A and B, each with one snapshot tagged with its name."""
    src = make_tree(tmp_path / "src", {"a.txt": b"a\n"})
    env = cli_env(tmp_path)
    a, b = tmp_path / "repo-a", tmp_path / "repo-b"
    for repo, tag in ((a, "in-a"), (b, "in-b")):
        out = invoke_main(["snap", str(src), "--repo", str(repo), "--tag", tag, "-q"], env)
        assert out.code == 0, out.stderr
    return a, b, env


def tags_listed(out: CliResult) -> set[str]:
    assert out.code == 0, out.stderr
    return {t for row in out.json() for t in row["tags"]}


def test_repo_flag_beats_snapkit_repo_in_both_positions(
    two_repos: tuple[Path, Path, dict[str, str]]
) -> None:
    a, b, env = two_repos
    env_a = {**env, "SNAPKIT_REPO": str(a)}
    assert tags_listed(invoke_main(["snapshots", "--json"], env_a)) == {"in-a"}
    for args in both_positions(["snapshots", "--json"], ["--repo", str(b)]):
        assert tags_listed(invoke_main(args, env_a)) == {"in-b"}, args
    for args in both_positions(["snapshots", "--json"], ["-r", str(b)]):
        assert tags_listed(invoke_main(args, env_a)) == {"in-b"}, args
    # Given twice, the one nearer the command (after it) wins, as for any option.
    out = invoke_main(["--repo", str(b), "snapshots", "--json", "--repo", str(a)], env)
    assert tags_listed(out) == {"in-a"}


def test_forget_names_the_repository_of_the_flag_not_of_the_environment(
    two_repos: tuple[Path, Path, dict[str, str]]
) -> None:
    a, b, env = two_repos
    env_a = {**env, "SNAPKIT_REPO": str(a)}
    out = invoke_main(["--repo", str(b), "forget", "--keep-tag", "none", "--json"], env_a)
    assert out.code == 0, out.stderr
    assert [s["tags"] for s in out.json()["snapshots"]] == [["in-b"]]
    # The environment's repository was not touched; B's snapshot is gone.
    assert tags_listed(invoke_main(["snapshots", "--json"], env_a)) == {"in-a"}
    assert tags_listed(invoke_main(["snapshots", "--json", "--repo", str(b)], env)) == set()


def test_config_flag_beats_snapkit_config_in_both_positions(tmp_path: Path) -> None:
    from_env, from_flag = tmp_path / "env.json", tmp_path / "flag.json"
    from_env.write_text('{"symlinks": "skip"}')
    from_flag.write_text('{"symlinks": "record"}')
    env = cli_env(tmp_path, SNAPKIT_CONFIG=str(from_env))
    out = invoke_main(["config", "show", "--json"], env)
    assert out.json()["path"] == str(from_env)
    for args in both_positions(["config", "show", "--json"], ["--config", str(from_flag)]):
        out = invoke_main(args, env)
        assert out.code == 0, out.stderr
        doc = out.json()
        assert (doc["path"], doc["config"]["symlinks"]) == (str(from_flag), "record"), args


@pytest.mark.parametrize("off", ["0", "false", "no"])
def test_json_flag_beats_snapkit_json_in_both_positions(
    two_repos: tuple[Path, Path, dict[str, str]], off: str
) -> None:
    a, _, env = two_repos
    env_off = {**env, "SNAPKIT_REPO": str(a), "SNAPKIT_JSON": off}
    plain = invoke_main(["snapshots"], env_off)
    assert plain.code == 0 and "1 snapshot\n" in plain.text
    for args in both_positions(["snapshots"], ["--json"]):
        out = invoke_main(args, env_off)
        assert out.code == 0, out.stderr
        assert [row["tags"] for row in json.loads(out.text)] == [["in-a"]], args
    on = invoke_main(["snapshots"], {**env_off, "SNAPKIT_JSON": "1"})
    assert [row["tags"] for row in json.loads(on.text)] == [["in-a"]]


@pytest.mark.parametrize("flag", ["-q", "--quiet"])
def test_quiet_flag_beats_snapkit_quiet_in_both_positions(
    two_repos: tuple[Path, Path, dict[str, str]], flag: str
) -> None:
    a, _, env = two_repos
    env_off = {**env, "SNAPKIT_REPO": str(a), "SNAPKIT_QUIET": "false"}
    assert "1 snapshot\n" in invoke_main(["snapshots"], env_off).text
    for args in both_positions(["snapshots"], [flag]):
        out = invoke_main(args, env_off)
        assert out.code == 0, out.stderr
        assert "1 snapshot\n" not in out.text and "in-a" in out.text, args
    assert "1 snapshot\n" not in invoke_main(["snapshots"], {**env_off, "SNAPKIT_QUIET": "1"}).text


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
def test_verbose_flag_beats_snapkit_verbose_in_both_positions(tmp_path: Path, flag: str) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "missing"), SNAPKIT_VERBOSE="0")
    quiet = invoke_main(["snapshots"], env)
    assert quiet.code == 10 and "Traceback" not in quiet.stderr
    for args in both_positions(["snapshots"], [flag]):
        out = invoke_main(args, env)
        assert out.code == 10 and "Traceback" in out.stderr, args
    loud = invoke_main(["snapshots"], {**env, "SNAPKIT_VERBOSE": "1"})
    assert "Traceback" in loud.stderr


def test_environment_applies_when_no_flag_is_given(
    two_repos: tuple[Path, Path, dict[str, str]]
) -> None:
    _, b, env = two_repos
    # The group's option (before the command) reads the variable too: still B.
    out = invoke_main(["snapshots", "--json"], {**env, "SNAPKIT_REPO": str(b)})
    assert tags_listed(out) == {"in-b"}
