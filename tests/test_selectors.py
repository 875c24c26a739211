"""Snapshot selectors with ``~N`` (issue 11, item 12): ``latest~N``, ``ID~N``, ``TAG~N`` name
the Nth snapshot before one in its group (same host, sources and mode), wherever a command
takes a snapshot. ``diff --help`` showed ``latest~`` before any command accepted it.
A tag that is also the start of a snapshot's id is refused as ambiguous (``tag:NAME`` selects
the tag); filters take a relative --path from the current directory; tag and host values are
checked by one rule (``check_label``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import CliResult, cli_env, init_repo, invoke_main, make_tree, take

from snapkit.format.errors import UsageError
from snapkit.format.model import Snapshot
from snapkit.maintain.selection import (
    check_label,
    describe_filters,
    filter_snapshots,
    resolve,
)

# ------------------------------------------------------------------------------- pure


def pair(sid: str, t: int, host: str = "laptop", mode: str = "full",
         sources: Sequence[str] = ("/s",), tags: Sequence[str] = ()) -> tuple[str, Snapshot]:
    return sid, Snapshot(time_ns=t, hostname=host, username="me", sources=tuple(sources),
                         tree="0" * 32, tags=tuple(tags), mode=mode)


# Oldest first, as Repository.snapshots() returns them; the groups interleave.
SNAPS = [
    pair("aaaa0001", 1),
    pair("bbbb0002", 2, mode="config-only", tags=("pre-update",)),
    pair("aaaa0003", 3, tags=("day~1",)),
    pair("cccc0004", 4, host="server"),
    pair("aaaa0005", 5, tags=("pre-update",)),
    pair("dddd0006", 6, sources=("/other",)),
    pair("aaaa0007", 7),
    pair("bbbb0008", 8, mode="config-only"),
]


@pytest.mark.parametrize(("selector", "want"), [
    ("latest", "bbbb0008"),
    ("latest~0", "bbbb0008"),
    ("latest~1", "bbbb0002"),  # the config-only group: not aaaa0007
    ("latest~", "bbbb0002"),  # as in git, ~ alone is ~1
    ("aaaa0007~1", "aaaa0005"),  # skips the other source's and the other host's
    ("aaaa0007~2", "aaaa0003"),
    ("aaaa0007~3", "aaaa0001"),
    ("aaaa0007~1~2", "aaaa0001"),  # steps add up
    ("aaaa0007~~", "aaaa0003"),
    ("pre-update~1", "aaaa0003"),  # the newest tagged one is aaaa0005 (full)
    ("latest:pre-update~2", "aaaa0001"),
    ("tag:pre-update~0", "aaaa0005"),
    ("AAAA0007~1", "aaaa0005"),
    ("day~1", "aaaa0003"),  # a tag that holds a ~ is still that tag
    ("day~1~1", "aaaa0001"),
    ("cccc~0", "cccc0004"),
])
def test_nth_before_in_the_same_group(selector: str, want: str) -> None:
    assert resolve(selector, SNAPS)[0] == want


@pytest.mark.parametrize(("selector", "needles"), [
    ("latest~9", ("latest~9", "bbbb0008", "only 1 earlier", "mode config-only",
                  "snapkit snapshots")),
    ("cccc0004~1", ("cccc0004", "no earlier snapshot", "host server")),
    ("aaaa0007~4", ("only 3 earlier",)),
    ("nosuchtag~1", ("no snapshot matches 'nosuchtag'",)),
    ("latest~x", ("no snapshot matches 'latest~x'",)),
])
def test_out_of_range_is_one_line(selector: str, needles: tuple[str, ...]) -> None:
    with pytest.raises(UsageError) as info:
        resolve(selector, SNAPS)
    assert info.value.exit_code == 2
    assert "\n" not in info.value.message
    for n in needles:
        assert n in info.value.message, (n, info.value.message)


def test_a_tag_that_is_also_an_id_prefix_is_ambiguous() -> None:
    snaps = [pair("aaaa0001", 1), pair("bbbb0002", 2, tags=("aaaa",)),
             pair("cccc0003", 3, tags=("cccc",))]
    with pytest.raises(UsageError) as info:
        resolve("aaaa", snaps)  # the id aaaa0001 or the tag on bbbb0002
    assert info.value.message == ("'aaaa' is both a tag and the start of snapshot id "
                                  "aaaa0001: write tag:aaaa for the tag, or more of the id")
    assert resolve("tag:aaaa", snaps)[0] == "bbbb0002"
    assert resolve("aaaa00", snaps)[0] == "aaaa0001"
    assert resolve("cccc", snaps)[0] == "cccc0003"  # the same snapshot either way
    assert resolve("2026", [*snaps, pair("dddd0004", 4, tags=("2026",))])[0] == "dddd0004"


def test_filters_take_a_relative_path_from_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snaps = [pair("aaaa0001", 1, sources=(str(tmp_path / "data"),)),
             pair("bbbb0002", 2, sources=("/elsewhere",))]
    monkeypatch.chdir(tmp_path)
    for path in ("data/small", "data", "./data/", str(tmp_path / "data" / "x")):
        assert [p[0] for p in filter_snapshots(snaps, path=path)] == ["aaaa0001"], path
    assert filter_snapshots(snaps, path="other") == []
    assert describe_filters("vm", ("a", "b"), "data") == (
        f"--host vm --tag a --tag b --path {tmp_path / 'data'}")
    assert describe_filters() == ""


@pytest.mark.parametrize(("kind", "value", "problem"), [
    ("tag", "", "cannot be empty"),
    ("tag", "a\nb", "control characters"),
    ("tag", "a\x7fb", "control characters"),
    ("tag", "a\u2028b", "control characters"),
    ("tag", "x ", "start or end with a space"),
    ("tag", "a,b", "comma"),
    ("tag", "latest", "cannot be `latest`"),
    ("tag", "latest:x", "cannot be `latest`"),
    ("tag", "tag:x", "cannot be `latest`"),
    ("host", "", "cannot be empty"),
    ("host", "a\tb", "control characters"),
])
def test_check_label_refuses(kind: str, value: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        check_label(kind, value)
    assert info.value.exit_code == 2 and problem in info.value.message
    assert info.value.message.startswith(f"invalid {kind} {value!r}: ")


@pytest.mark.parametrize(("kind", "value"), [
    ("tag", "pre-update"), ("tag", "env:prod"), ("tag", "deadbeef"), ("tag", "day~1"),
    ("tag", "été"), ("host", "latest"), ("host", "a,b"), ("host", "my laptop"),
])
def test_check_label_accepts(kind: str, value: str) -> None:
    assert check_label(kind, value) == value


# ------------------------------------------------------------------------------- every command


@pytest.fixture
def three(tmp_path: Path) -> tuple[dict[str, str], list[str], Path, Path]:
    """Three full snapshots of one source (the file changes each time), then a config-only one
    (newest of all) that ``latest~N`` must step over."""
    src = make_tree(tmp_path / "src", {"f.txt": b"v0\n", "keep.txt": b"k\n"})
    repo = init_repo(tmp_path / "repo")
    ids = []
    for i in range(3):
        (src / "f.txt").write_bytes(f"v{i}\n".encode())
        ids.append(take(repo, src, tags=(f"t{i}",))[0])
    take(repo, src, mode="config-only")
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    return env, ids, src, tmp_path


def ok(env: dict[str, str], *args: str) -> CliResult:
    out = invoke_main(args, env)
    assert out.code == 0, (args, out.stderr)
    return out


def test_every_command_accepts_tilde(three: tuple[dict[str, str], list[str], Path, Path]) -> None:
    env, ids, src, tmp = three
    # `latest` is the config-only one; a full one's ancestry is reached from its id or tag.
    assert ok(env, "show", "t2~1", "--json").json()["id"] == ids[1]
    assert ok(env, "show", f"{ids[2][:8]}~2", "--json").json()["id"] == ids[0]
    assert ok(env, "cat", "t2~2", "f.txt").text == "v0\n"
    assert ok(env, "cat", "t2~", "f.txt").text == "v1\n"
    assert [r["path"] for r in ok(env, "ls", "t2~1", "--json").json_lines()] == [
        str(src / "f.txt"), str(src / "keep.txt")]
    diff = ok(env, "diff", "t2~1", "t2", "--json").json_lines()
    assert [(c["marker"], c["path"]) for c in diff[:-1]] == [("M", str(src / "f.txt"))]
    assert (diff[-1]["from"], diff[-1]["to"]) == (ids[1], ids[2])
    found = ok(env, "find", "f.txt", "--snapshot", "t2~2", "--json").json_lines()
    assert [f["snapshot"] for f in found] == [ids[0]]
    plan = ok(env, "restore", "t2~2", "--target", str(tmp / "r"), "--dry-run",
              "--json").json_lines()
    assert plan[-1]["snapshot_id"] == ids[0]
    archive = tmp / "x.tar"
    ok(env, "export", "t2~1", "-o", str(archive), "-q")
    assert archive.stat().st_size > 0
    snapped = ok(env, "snap", str(src), "--parent", "t2~1", "--json").json_lines()
    assert snapped[-1]["parent"] == ids[1]
    doc = ok(env, "forget", "t2~2", "--json").json()
    assert doc["removed"] == [ids[0]]


@pytest.mark.parametrize("args", [
    ["show", "t2~9"], ["cat", "t2~9", "f.txt"], ["ls", "t2~9"], ["diff", "t2~9", "t2"],
    ["diff", "t2", "t2~9"], ["find", "x", "--snapshot", "t2~9"], ["restore", "t2~9", "-t", "x"],
    ["export", "t2~9"], ["forget", "t2~9"], ["snap", "--parent", "t2~9", "."],
    ["show", "latest~9"],
])
def test_too_far_back_is_one_line_exit_2(three: tuple[dict[str, str], list[str], Path, Path],
                                         args: list[str]) -> None:
    env, _, src, _ = three
    out = invoke_main([src.as_posix() if a == "." else a for a in args], env)
    assert out.code == 2, (args, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapkit: error: "), out.stderr
    assert "~9" in lines[0] and "earlier" in lines[0]


def test_diff_help_shows_a_selector_that_works(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f.txt": b"1\n"})
    repo = init_repo(tmp_path / "repo")
    take(repo, src)
    (src / "f.txt").write_bytes(b"2\n")
    take(repo, src)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    examples = [line.split()[2:4] for line in ok(env, "diff", "--help").text.splitlines()
                if line.strip().startswith("snapkit diff") and "~" in line]
    assert examples
    for example in examples:
        out = ok(env, "diff", *example, "--json").json_lines()
        assert [c["marker"] for c in out[:-1]] == ["M"], example
