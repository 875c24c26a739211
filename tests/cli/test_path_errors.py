"""Errors about the user's paths, through the CLI (a new-user trial, item 19): one line naming
the path the user gave — never the temp name a file is written to, nor a bare directory name —
and the fix, with the README's exit code: 2 when nothing was written because the command
cannot do what it was asked (a --target that is a file, an -o whose directory does not exist,
an -o that is a directory, a restore that would overwrite files), 1 for an I/O error of the
disk written to (read-only, full; real tmpfs mounts, root only: skipped elsewhere)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    IS_ROOT,
    CliResult,
    Symlink,
    describe,
    env_for,
    init_repo,
    invoke_main,
    listing,
    make_tree,
    restored,
    take,
    without_export_note,
)

from snapkit.format.errors import EXIT_FATAL, EXIT_USAGE


@pytest.fixture
def world(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A snapshot of ``src`` (a file, a directory, a symlink: one of each)."""
    src = make_tree(tmp_path / "src", {"a.txt": b"alpha\n", "sub/b.txt": b"beta\n",
                                       "link": Symlink("a.txt")})
    take(init_repo(tmp_path / "repo"), src, symlinks="record")
    return env_for(tmp_path), src


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[list[Path]]:
    """Where :func:`tmpfs` mounted; unmounted (lazily) at the end."""
    done: list[Path] = []
    yield done
    for where in done:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def tmpfs(mounts: list[Path], where: Path, options: str) -> Path:
    """A real tmpfs at ``where`` with mount ``options`` (root only: skipped elsewhere)."""
    where.mkdir(parents=True)
    if not IS_ROOT or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()}")
    mounts.append(where)
    return where


def one_line(out: CliResult, code: int) -> str:
    """The single error line of a run that exited ``code``; it names no temp file."""
    assert out.code == code, (out.code, out.stderr)
    lines = without_export_note(out.stderr).strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert ".snapkit-" not in lines[0] and "Traceback" not in lines[0]
    return lines[0]


def restore(env: dict[str, str], target: Path | str, *args: str) -> CliResult:
    return invoke_main(["restore", "latest", "--target", str(target), *args], env)


def export(env: dict[str, str], output: Path | str, *args: str) -> CliResult:
    return invoke_main(["export", "latest", "-o", str(output), *args], env)


# --------------------------------------------------------------------------- restore


def test_a_target_that_is_a_file_is_refused(world: tuple[dict[str, str], Path],
                                            tmp_path: Path) -> None:
    env, _ = world
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"mine\n")
    line = one_line(restore(env, victim), EXIT_USAGE)
    assert f"--target {victim} is a file; restore into a directory" in line
    line = one_line(restore(env, victim / "below"), EXIT_USAGE)
    assert f"--target {victim / 'below'} is below {victim}, which is not a directory" in line
    line = one_line(restore(env, victim, "--dry-run"), EXIT_USAGE)
    assert "is a file" in line
    assert victim.read_bytes() == b"mine\n"


def test_a_relative_target_that_is_a_file_is_named(world: tuple[dict[str, str], Path],
                                                   tmp_path: Path) -> None:
    env, _ = world
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_bytes(b"mine\n")
    out = invoke_main(["restore", "latest", "--target", "data/a.txt"], env, cwd=tmp_path)
    assert f"{tmp_path / 'data' / 'a.txt'} is a file" in one_line(out, EXIT_USAGE)


def test_a_conflict_writes_nothing_and_exits_2(world: tuple[dict[str, str], Path],
                                              tmp_path: Path) -> None:
    env, src = world
    target = tmp_path / "target"
    assert restore(env, target).code == 0
    (restored(target, src) / "a.txt").write_bytes(b"edited\n")
    before = describe(target)
    line = one_line(restore(env, target), EXIT_USAGE)
    assert "would overwrite" in line and "nothing was written" in line
    assert "--overwrite if-changed" in line
    assert describe(target) == before
    err = restore(env, target, "--json")
    assert err.code == EXIT_USAGE
    assert f'"exit_code": {EXIT_USAGE}' in err.stderr


def test_a_read_only_target_is_named(world: tuple[dict[str, str], Path], tmp_path: Path,
                                     mounts: list[Path]) -> None:
    env, _ = world
    ro = tmpfs(mounts, tmp_path / "ro", "ro,size=1m")
    for target in (ro, ro / "new"):
        line = one_line(restore(env, target), EXIT_FATAL)
        assert f"cannot write below --target {target}: read-only file system" in line
        assert "restore into a writable directory" in line
    assert listing(ro) == set()


def test_a_target_read_only_once_restored_is_named(world: tuple[dict[str, str], Path],
                                                   tmp_path: Path, mounts: list[Path]) -> None:
    """Read-only below existing directories: the directory descriptors' bare names (``tmp``)
    are not what the line shows."""
    env, _ = world
    disk = tmpfs(mounts, tmp_path / "disk", "size=1m")
    assert restore(env, disk).code == 0
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    for args in ((), ("--fail-fast",)):
        line = one_line(restore(env, disk, "--overwrite", "always", *args), EXIT_FATAL)
        assert f"cannot write below --target {disk}: read-only file system" in line


def test_a_full_target_names_the_file_being_written(tmp_path: Path, mounts: list[Path]) -> None:
    src = make_tree(tmp_path / "src", {"big.bin": random.Random(3).randbytes(400_000)})
    take(init_repo(tmp_path / "repo"), src)
    env = env_for(tmp_path)
    disk = tmpfs(mounts, tmp_path / "disk", "size=128k")
    for args in ((), ("--fail-fast",)):
        line = one_line(restore(env, disk, *args), EXIT_FATAL)
        assert (f"no space left on the disk while writing {restored(disk, src) / 'big.bin'}"
                in line)
        assert not any(".snapkit-" in name for name in listing(disk))


def test_the_summary_counts_in_the_singular(world: tuple[dict[str, str], Path],
                                            tmp_path: Path) -> None:
    env, _ = world
    out = invoke_main(["restore", "latest", "--target", str(tmp_path / "t"), "--include",
                       "a.txt", "--include", "link"], env)
    assert out.code == 0, out.stderr
    assert "restored 1 file (6 B), " in out.text and ", 1 symlink from snapshot" in out.text


# --------------------------------------------------------------------------- export


def test_an_output_in_a_missing_directory_is_refused(world: tuple[dict[str, str], Path],
                                                     tmp_path: Path) -> None:
    env, _ = world
    output = tmp_path / "nodir" / "x.tgz"
    line = one_line(export(env, output), EXIT_USAGE)
    assert f"the directory of -o {output} does not exist; create it first" in line
    assert not output.parent.exists()
    (tmp_path / "file").write_bytes(b"mine\n")
    line = one_line(export(env, tmp_path / "file" / "x.tgz"), EXIT_USAGE)
    assert f"{tmp_path / 'file'} is not a directory" in line


def test_a_directory_as_output_is_refused_even_with_force(world: tuple[dict[str, str], Path],
                                                          tmp_path: Path) -> None:
    env, _ = world
    out_dir = make_tree(tmp_path / "out", {"keep.txt": b"mine\n"})
    for args in ((), ("--force",)):
        line = one_line(export(env, out_dir, *args), EXIT_USAGE)
        assert f"{out_dir} is a directory; name a file (-o {out_dir}/NAME.tar.gz)" in line
    assert listing(out_dir) == {"keep.txt"}


def test_an_existing_output_needs_force(world: tuple[dict[str, str], Path],
                                        tmp_path: Path) -> None:
    env, _ = world
    output = tmp_path / "x.tar"
    assert export(env, output).code == 0
    line = one_line(export(env, output), EXIT_USAGE)
    assert f"{output} exists; pass --force" in line
    assert export(env, output, "--force").code == 0


@pytest.mark.parametrize("options,expected", [
    ("ro,size=1m", "cannot write {out}: read-only file system; -o a file on a writable disk"),
    ("size=64k", "no space left on the disk of {out} (the partial archive was removed)"),
])
@pytest.mark.parametrize("ext", ["tar", "tar.gz", "tar.zst"])
def test_an_unwritable_output_is_named(tmp_path: Path, mounts: list[Path], options: str,
                                       expected: str, ext: str) -> None:
    src = make_tree(tmp_path / "src", {"big.bin": random.Random(4).randbytes(300_000)})
    take(init_repo(tmp_path / "repo"), src)
    disk = tmpfs(mounts, tmp_path / "disk", options)
    out = disk / f"x.{ext}"
    line = one_line(export(env_for(tmp_path), out), EXIT_FATAL)
    assert expected.format(out=out) in line
    assert listing(disk) == set()


def test_a_repository_read_error_is_not_blamed_on_the_output(tmp_path: Path) -> None:
    """An OSError reading the repository during an export (a pack that became a directory)
    is not reported as an error writing the archive."""
    src = make_tree(tmp_path / "src", {"a.bin": random.Random(5).randbytes(50_000)})
    take(init_repo(tmp_path / "repo"), src)
    for pack in [p for p in (tmp_path / "repo" / "packs").rglob("*") if p.is_file()]:
        pack.unlink()
        pack.mkdir()
    output = tmp_path / "x.tar"
    out = export(env_for(tmp_path), output, "--fail-fast")
    assert out.code != 0
    assert "cannot write" not in out.stderr and str(output) not in out.stderr, out.stderr
    assert not os.path.exists(output) and listing(tmp_path / "src") == {"a.bin"}
