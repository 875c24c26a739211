"""Tag and host values, one rule for ``snap``, ``import`` and ``tag`` (``check_label``): empty,
control characters, spaces at the ends, commas, ``latest`` and ``tag:``/``latest:`` are one
line each, exit 2, before anything is done; ``tag --remove`` still takes any tag a snapshot
has. ``snap --time`` in the future is kept, with a one-line warning about ``latest``."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers import cli_env, invoke_main, make_tree

from snapkit.store.repository import Repository

BAD = [
    (["--tag", ""], "invalid tag '': a tag cannot be empty"),
    (["--tag", "a\nb"], "invalid tag 'a\\nb': a tag cannot hold control characters"),
    (["--tag", "x\t"], "invalid tag 'x\\t': a tag cannot hold control characters"),
    (["--tag", " x"], "invalid tag ' x': a tag cannot start or end with a space"),
    (["--tag", "a,b"], "invalid tag 'a,b': a tag cannot hold a comma"),
    (["--tag", "latest"], "invalid tag 'latest': a tag cannot be `latest`"),
    (["--tag", "tag:x"], "invalid tag 'tag:x': a tag cannot be `latest` or start with"),
    (["--host", ""], "invalid host '': a host name cannot be empty"),
    (["--host", "x\ny"], "invalid host 'x\\ny': a host name cannot hold control characters"),
]


def one_line(out: object, needle: str) -> None:
    stderr = getattr(out, "stderr", "")
    assert getattr(out, "code", None) == 2, stderr
    assert len(stderr.strip().splitlines()) == 1 and needle in stderr, stderr


@pytest.mark.parametrize(("args", "needle"), BAD)
def test_snap_and_import_refuse_a_bad_tag_or_host(tmp_path: Path, args: list[str],
                                                  needle: str) -> None:
    src = make_tree(tmp_path / "src", {"f.txt": b"x"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    one_line(invoke_main(["snap", str(src), *args], env), needle)
    one_line(invoke_main(["import", str(tmp_path / "none.tar"), *args], env), needle)
    assert not (tmp_path / "repo").exists()  # refused before anything was done


def test_tag_add_and_set_refuse_what_remove_still_takes(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f.txt": b"x"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert invoke_main(["snap", str(src), "-q", "--tag", "ok"], env).code == 0
    for option in ("--add", "--set"):
        one_line(invoke_main(["tag", "latest", option, "latest"], env),
                 "invalid tag 'latest'")
        one_line(invoke_main(["tag", "latest", option, "a\nb"], env), "control characters")
    one_line(invoke_main(["tag", "latest", "--remove", ""], env), "invalid tag ''")
    # a tag written before these rules (here: by the library) can still be removed
    repo = Repository.open(tmp_path / "repo")
    ((sid, snap),) = repo.snapshots()
    odd = repo.save_snapshot(replace(snap, tags=("ok", "a\nb")))
    repo.remove_snapshot(sid)
    done = invoke_main(["tag", odd[:8], "--remove", "a\nb", "--json"], env)
    assert done.code == 0 and json.loads(done.stdout)[0]["tags"] == ["ok"]


def test_a_future_time_is_kept_with_a_warning(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f.txt": b"x"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    later = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    out = invoke_main(["snap", str(src), "-q", "--time", later], env)
    assert out.code == 0
    assert out.stderr.strip() == (f"snapkit: warning: --time {later} is in the future: this "
                                  "snapshot will be `latest` until then, whatever is taken "
                                  "after it")
    soon = (datetime.now() + timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
    past = (datetime.now() - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    for when in (soon, past):  # a clock a little ahead, or the past: no warning
        again = invoke_main(["snap", str(src), "-q", "--time", when], env)
        assert again.code == 0 and again.stderr == "", again.stderr
