"""Hints a new user follows to the letter (issue 15's trial): the command a message names
does what the message says, when run as written."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import File, env_for, init_repo, invoke_main, make_tree, take


def test_checks_hint_for_a_damaged_manifest_removes_it(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    src = make_tree(tmp_path / "src", {"a.txt": File(b"a" * 100)})
    take(repo, src)
    sid, _ = take(repo, src, parent=None, tags=("second",))
    path = tmp_path / "repo" / "snapshots" / sid
    path.write_bytes(path.read_bytes()[:-3])
    env = env_for(tmp_path)
    out = invoke_main(["check"], env)
    assert out.code == 1
    (line,) = [ln for ln in out.lines if f"snapshot manifest {sid}" in ln]
    hint = re.search(r"`(snapkit repair snapshots[^`]*)` removes it", line)
    assert hint is not None, line
    fixed = invoke_main(hint.group(1).split()[1:], env)
    assert fixed.code == 0, (fixed.stdout, fixed.stderr)
    assert invoke_main(["check"], env).code == 0
