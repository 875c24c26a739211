"""Restoring over what a target already holds, through the CLI: a file with the snapshot's
content but another mode, time or owner gets them back (what a killed restore can leave); a
file the snapshot holds is never taken for an interrupted restore's partial file; a default
ACL on the target does not change the modes restored; a dry run shows names escaped."""

from __future__ import annotations

import json
import os
import random
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import assert_trees_equal, cli_env, describe, make_tree, restored, run_snapkit

from snapkit.read.restore_writer import TEMP_PREFIX


def _snap(tmp_path: Path, spec: dict[str, bytes]) -> tuple[dict[str, str], Path]:
    src = make_tree(tmp_path / "src", spec)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    return env, src


def test_metadata_of_files_already_there_is_set_again(tmp_path: Path) -> None:
    """Content equal, mode/time (and, for root, owner) not: under any policy the restore sets
    them again without rewriting the file, and says how many; a dry run lists them."""
    env, src = _snap(tmp_path, {"a.txt": b"a\n", "b.txt": b"b\n", "c.txt": b"", "d.txt": b"d"})
    (src / "a.txt").chmod(0o640)
    (src / "c.txt").chmod(0o4750)
    env, src = _snap(tmp_path, {})  # the same tree, snapped again with those modes
    target = tmp_path / "t"
    assert run_snapkit(["restore", "-q", "latest", "--target", str(target)], env).returncode == 0
    out = restored(target, src)
    os.chmod(out / "a.txt", 0o600)  # what a restore killed between content and metadata,
    os.utime(out / "b.txt", ns=(0, 1_000_000_000))  # or a user, leaves
    os.chmod(out / "c.txt", 0o600)
    if os.geteuid() == 0:
        os.chown(out / "d.txt", 1234, 5678)
    dry = run_snapkit(["restore", "--dry-run", "latest", "--target", str(target)], env)
    assert dry.returncode == 0, dry.stderr
    listed = {line.split()[1] for line in dry.stdout.splitlines()
              if line.startswith("metadata ")}
    fixed = {"a.txt", "b.txt", "c.txt"} | ({"d.txt"} if os.geteuid() == 0 else set())
    assert listed == {str(out / n) for n in fixed}
    result = run_snapkit(["restore", "--json", "latest", "--target", str(target)], env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert (summary["files"], summary["identical"], summary["metadata"]) == (0, 4, len(fixed))
    assert_trees_equal(describe(src), out)
    again = run_snapkit(["restore", "latest", "--target", str(target)], env)
    assert "already identical" in again.stdout and "set again" not in again.stdout


def test_a_file_named_like_a_partial_file_is_never_swept(tmp_path: Path) -> None:
    """A snapshot may hold a file named like a dead restore's partial file: restoring it
    again (nothing to write there) or in place keeps it."""
    name = f"{TEMP_PREFIX}999999999-notes"
    env, src = _snap(tmp_path, {f"keep/{name}": b"mine\n", "keep/a": b"a\n", "w/b": b"b\n"})
    target = tmp_path / "t"
    for _ in range(2):
        result = run_snapkit(["restore", "latest", "--target", str(target)], env)
        assert result.returncode == 0, result.stderr
        assert (restored(target, src) / "keep" / name).read_bytes() == b"mine\n"
        assert "partial file" not in result.stderr
    (src / "keep" / "a").write_bytes(b"changed\n")
    result = run_snapkit(["restore", "latest", "--in-place", "--overwrite", "if-changed"], env)
    assert result.returncode == 0, result.stderr
    assert (src / "keep" / name).read_bytes() == b"mine\n"
    assert (src / "keep" / "a").read_bytes() == b"a\n"


def _default_acl(directory: Path) -> None:
    """``setfacl -d -m u::rwx,g::rx,o::- DIR``, written as the kernel's xattr."""
    entries = [(0x01, 7, 0xFFFFFFFF), (0x04, 5, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)]
    value = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    os.setxattr(directory, "system.posix_acl_default", value)


def test_a_default_acl_on_the_target_does_not_change_the_modes(tmp_path: Path) -> None:
    modes = {"r.txt": 0o444, "rw.txt": 0o644, "all.txt": 0o666, "x": 0o755, "own": 0o600}
    env, src = _snap(tmp_path, {f"d/{n}": n.encode() for n in modes})
    for name, mode in modes.items():
        (src / "d" / name).chmod(mode)
    env, src = _snap(tmp_path, {})
    target = tmp_path / "acl"
    target.mkdir()
    try:
        _default_acl(target)
    except (OSError, AttributeError) as exc:
        pytest.skip(f"no POSIX default ACLs here: {exc}")
    result = run_snapkit(["restore", "-q", "latest", "--target", str(target)], env)
    assert result.returncode == 0, result.stderr
    out = restored(target, src)
    assert {n: oct((out / "d" / n).stat().st_mode & 0o7777) for n in modes} == \
        {n: oct(m) for n, m in modes.items()}


def test_a_dry_run_shows_control_characters_escaped(tmp_path: Path) -> None:
    env, _ = _snap(tmp_path, {"new\nline": b"x\n", "plain": b"y\n"})
    dry = run_snapkit(["restore", "--dry-run", "latest", "--target", str(tmp_path / "t")], env)
    assert dry.returncode == 0, dry.stderr
    assert any(line.endswith("new\\nline") for line in dry.stdout.splitlines()), dry.stdout
    assert not any(line == "line" for line in dry.stdout.splitlines())


def test_an_interrupted_restore_says_the_target_is_incomplete(tmp_path: Path) -> None:
    """Ctrl-C and SIGTERM: exit 130, one line saying the target is incomplete and how to
    finish it; doing so gives the whole tree."""
    rng = random.Random(5)
    env, src = _snap(tmp_path, {f"d{i}/f{j}.bin": rng.randbytes(64 * 1024) for i in range(20)
                                for j in range(40)})
    for sig in (signal.SIGINT, signal.SIGTERM):
        target = tmp_path / f"t-{sig.name}"
        proc = subprocess.Popen([sys.executable, "-m", "snapkit", "restore", "latest",
                                 "--target", str(target)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        while not list(target.rglob("f*.bin")) and proc.poll() is None:
            pass
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            pytest.skip("the restore ended before the signal")
        assert proc.returncode == 130, err
        assert err.count("\n") == 1 and "is incomplete" in err, err
        assert f"into {target}" in err and "--overwrite if-changed" in err, err
        again = run_snapkit(["restore", "-q", "latest", "--target", str(target),
                             "--overwrite", "if-changed"], env)
        assert again.returncode == 0, again.stderr
        assert_trees_equal(describe(src), restored(target, src))


def test_a_hard_linked_file_is_replaced_not_changed_in_place(tmp_path: Path) -> None:
    """Setting a file's metadata again would change every hard link to it, maybe outside the
    target: such a file is replaced instead (``--overwrite if-changed``), a conflict without."""
    env, src = _snap(tmp_path, {"a.txt": b"same\n"})
    target = tmp_path / "t"
    assert run_snapkit(["restore", "-q", "latest", "--target", str(target)], env).returncode == 0
    inside = restored(target, src) / "a.txt"
    outside = tmp_path / "elsewhere.txt"
    os.link(inside, outside)
    os.chmod(outside, 0o666)  # (the same inode: the file in the target too)
    refused = run_snapkit(["restore", "latest", "--target", str(target)], env)
    assert refused.returncode == 2 and "other hard links" in refused.stderr, refused.stderr
    result = run_snapkit(["restore", "latest", "--target", str(target), "--overwrite",
                          "if-changed"], env)
    assert result.returncode == 0, result.stderr
    assert oct(outside.stat().st_mode & 0o777) == oct(0o666)  # left as it was
    assert outside.stat().st_nlink == 1 and outside.read_bytes() == b"same\n"
    assert_trees_equal(describe(src), restored(target, src))
