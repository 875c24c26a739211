"""``snapkit mount`` through FUSE: a real repository mounted by ``python -m snapkit mount`` in
a subprocess, then read with ordinary file calls and compared with the files it was taken
from; unmounted by SIGINT, SIGTERM and ``fusermount -u``.

Needs /dev/fuse, libfuse and the mfusepy binding (the ``test`` extra has it); where one is
missing the tests are skipped with that reason. A mount a failed test leaves is unmounted by
the fixture's teardown.
"""

from __future__ import annotations

import ctypes.util
import errno
import json
import os
import random
import shutil
import signal
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import File, Symlink, cli_env, make_tree, popen_snapkit, run_snapkit, wait_for

from snapkit.format.paths import split_path
from snapkit.read.treewalk import find_node
from snapkit.store.repository import Repository

MiB = 2**20
T0 = 1_700_000_000_000_000_000


def _fuse_missing() -> str | None:
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine"
    if not (ctypes.util.find_library("fuse") or ctypes.util.find_library("fuse3")):
        return "libfuse (2 or 3) is not installed"
    return None


pytestmark = pytest.mark.skipif(_fuse_missing() is not None, reason=str(_fuse_missing()))

#: The libfuse versions installed here: the mounts are tested with each ($FUSE_LIBRARY_PATH
#: tells mfusepy which to load; by itself it prefers libfuse 2).
LIBFUSE = sorted({lib for lib in (ctypes.util.find_library("fuse"),
                                  ctypes.util.find_library("fuse3")) if lib})


@pytest.fixture(params=LIBFUSE or ["none"])
def libfuse(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Mounted:
    """A running ``snapkit mount``."""

    proc: subprocess.Popen[str]
    mountpoint: Path
    source: Path

    def snapshot(self, name: str = "snapshots/latest") -> Path:
        """The source's files as the snapshot at ``name`` (below the mount) holds them."""
        return self.mountpoint / name / str(self.source).lstrip("/")

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err


def _is_mounted(path: Path) -> bool:
    """Whether something is mounted at ``path`` — also a FUSE mount whose process died
    (``os.path.ismount`` cannot stat that one)."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            return any(line.split()[1:2] == [str(path)] for line in f)
    except OSError:
        return os.path.ismount(path)


def _unmount(mountpoint: Path) -> None:
    """Unmount ``mountpoint`` if something is still mounted there (teardown)."""
    if _is_mounted(mountpoint):
        tool = shutil.which("fusermount3") or shutil.which("fusermount")
        if tool:
            subprocess.run([tool, "-u", "-z", str(mountpoint)], check=False)
        if _is_mounted(mountpoint):
            subprocess.run(["umount", "-l", str(mountpoint)], check=False)


@pytest.fixture(scope="module")
def taken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """A repository with two snapshots of one tree (the second tagged, with a changed
    file): the source, the repository and the environment of the CLI."""
    base = tmp_path_factory.mktemp("mount")
    rng = random.Random(16)
    source = make_tree(base / "src", {
        "big.bin": rng.randbytes(6 * MiB + 12345),  # many chunks
        "notes/a.txt": File(b"first\n", mode=0o640, mtime_ns=T0 - 5 * 10**9),
        "notes/empty": b"",
        "exec.sh": File(b"#!/bin/sh\necho hi\n", mode=0o755),
        "link": Symlink("notes/a.txt"),
        "deep/er/still/file": b"deep\n",
    })
    env = cli_env(base, SNAPKIT_REPO=str(base / "repo"))
    for args in (["init"], ["snap", "--symlinks", "record", str(source)]):
        done = run_snapkit(args, env)
        assert done.returncode == 0, done.stderr
    (source / "notes" / "a.txt").write_bytes(b"second\n")
    done = run_snapkit(["snap", "--symlinks", "record", "--tag", "work", str(source)], env)
    assert done.returncode == 0, done.stderr
    return source, base / "repo", env


@contextmanager
def _running(env: dict[str, str], mountpoint: Path, *options: str) -> Iterator[
        subprocess.Popen[str]]:
    """``snapkit [OPTIONS] mount MOUNTPOINT``, once its mount answers; afterwards the process
    is stopped (SIGINT, then SIGKILL) and anything still mounted unmounted."""
    proc = popen_snapkit([*options, "mount", str(mountpoint)], env)
    try:
        ok = wait_for(lambda: proc.poll() is not None or (mountpoint / "ids").is_dir(),
                      timeout=30, interval=0.05)
        assert ok and proc.poll() is None, proc.communicate(timeout=10)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _unmount(mountpoint)


@pytest.fixture
def mounted(taken: tuple[Path, Path, dict[str, str]], tmp_path: Path,
            libfuse: str) -> Iterator[Mounted]:
    source, _, env = taken
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    with _running({**env, "FUSE_LIBRARY_PATH": libfuse}, mountpoint) as proc:
        yield Mounted(proc, mountpoint, source)


def test_the_layout_by_id_time_host_and_tag(mounted: Mounted,
                                            taken: tuple[Path, Path, dict[str, str]]) -> None:
    ids = [sid for sid, _ in Repository.open(taken[1]).snapshots()]
    top = mounted.mountpoint
    assert sorted(os.listdir(top)) == ["hosts", "ids", "snapshots", "tags"]
    assert sorted(os.listdir(top / "ids")) == sorted(sid[:8] for sid in ids)
    times = sorted(os.listdir(top / "snapshots"))
    assert len(times) == 3 and "latest" in times
    newest = max(t for t in times if t != "latest")
    assert os.readlink(top / "snapshots" / "latest") == newest
    assert os.listdir(top / "hosts") and os.listdir(top / "tags") == ["work"]
    tagged = sorted(os.listdir(top / "tags" / "work"))  # names are unique per directory
    assert len(tagged) == 2 and "latest" in tagged
    assert os.readlink(top / "tags" / "work" / "latest") == min(tagged)
    host = os.listdir(top / "hosts")[0]
    assert os.readlink(top / "hosts" / host / "latest") == newest
    # every name of a snapshot leads to the same files
    first = mounted.snapshot(f"ids/{ids[0][:8]}") / "notes" / "a.txt"
    assert first.read_bytes() == b"first\n"
    assert (mounted.snapshot("tags/work/latest") / "notes" / "a.txt").read_bytes() == b"second\n"


def test_files_stats_and_links_are_the_originals(mounted: Mounted) -> None:
    inside, source = mounted.snapshot(), mounted.source
    assert sorted(os.listdir(inside)) == sorted(os.listdir(source))
    for rel in ("big.bin", "notes/a.txt", "notes/empty", "exec.sh", "deep/er/still/file"):
        got, want = os.stat(inside / rel), os.stat(source / rel)
        assert stat.S_ISREG(got.st_mode), rel
        assert (stat.S_IMODE(got.st_mode), got.st_size, got.st_mtime_ns) == (
            stat.S_IMODE(want.st_mode), want.st_size, want.st_mtime_ns), rel
        assert (got.st_uid, got.st_gid) == (want.st_uid, want.st_gid)
        assert (inside / rel).read_bytes() == (source / rel).read_bytes(), rel
    got_dir, want_dir = os.stat(inside / "notes"), os.stat(source / "notes")
    assert stat.S_ISDIR(got_dir.st_mode)
    assert stat.S_IMODE(got_dir.st_mode) == stat.S_IMODE(want_dir.st_mode)
    assert got_dir.st_mtime_ns == want_dir.st_mtime_ns
    link = os.lstat(inside / "link")
    assert stat.S_ISLNK(link.st_mode)
    assert link.st_size == len("notes/a.txt")  # POSIX: the length of the target
    assert os.readlink(inside / "link") == "notes/a.txt"
    assert (inside / "link").read_bytes() == b"second\n"  # followed inside the mount


def test_random_offset_reads_of_a_multi_chunk_file(mounted: Mounted) -> None:
    data = (mounted.source / "big.bin").read_bytes()
    rng = random.Random(7)
    with open(mounted.snapshot() / "big.bin", "rb") as f:
        for _ in range(40):
            offset = rng.randrange(len(data))
            size = rng.choice([1, 4096, 131072, 2 * MiB + 3])
            f.seek(offset)
            assert f.read(size) == data[offset:offset + size]
        f.seek(len(data) - 10)
        assert f.read(100) == data[-10:]
        f.seek(len(data) + 100)
        assert f.read(10) == b""
    fd = os.open(mounted.snapshot() / "big.bin", os.O_RDONLY)
    try:
        assert os.pread(fd, 5000, 3 * MiB - 2000) == data[3 * MiB - 2000:3 * MiB + 3000]
    finally:
        os.close(fd)


def test_writes_fail_with_erofs(mounted: Mounted) -> None:
    inside = mounted.snapshot()
    attempts: list[Callable[[], object]] = [
        lambda: open(inside / "notes" / "a.txt", "ab"),  # noqa: SIM115
        lambda: open(inside / "new.txt", "wb"),  # noqa: SIM115
        lambda: os.mkdir(inside / "newdir"),
        lambda: os.unlink(inside / "exec.sh"),
        lambda: os.rename(inside / "exec.sh", inside / "other.sh"),
        lambda: os.chmod(inside / "exec.sh", 0o700),
        lambda: os.symlink("x", inside / "newlink"),
        lambda: os.mkdir(mounted.mountpoint / "ids" / "mine"),
    ]
    for attempt in attempts:
        with pytest.raises(OSError) as info:
            attempt()
        assert info.value.errno == errno.EROFS
    assert (inside / "notes" / "a.txt").read_bytes() == b"second\n"


def test_missing_paths_are_enoent(mounted: Mounted) -> None:
    for path in (mounted.mountpoint / "ids" / "00000000",
                 mounted.snapshot() / "no-such-file",
                 mounted.snapshot() / "big.bin" / "below-a-file"):
        with pytest.raises(OSError) as info:
            os.stat(path)
        assert info.value.errno in (errno.ENOENT, errno.ENOTDIR)


def test_sigint_unmounts_and_exits_0(mounted: Mounted) -> None:
    code, err = mounted.stop(signal.SIGINT)
    assert code == 0, err
    assert err.splitlines() == [
        f"mounted 2 snapshot(s) at {mounted.mountpoint}; press Ctrl-C or run "
        f"`umount {mounted.mountpoint}` to unmount", f"unmounted {mounted.mountpoint}"]
    assert not _is_mounted(mounted.mountpoint)
    assert os.listdir(mounted.mountpoint) == []


def test_sigterm_unmounts_and_exits_0(mounted: Mounted) -> None:
    code, err = mounted.stop(signal.SIGTERM)
    assert code == 0, err
    assert not _is_mounted(mounted.mountpoint)
    assert os.listdir(mounted.mountpoint) == []


def test_an_outside_unmount_ends_the_command(mounted: Mounted) -> None:
    tool = shutil.which("fusermount3") or shutil.which("fusermount") or "umount"
    args = [tool, "-u", str(mounted.mountpoint)] if "fusermount" in tool else [
        tool, str(mounted.mountpoint)]
    subprocess.run(args, check=True)
    assert mounted.proc.wait(timeout=30) == 0
    assert os.listdir(mounted.mountpoint) == []


def test_the_mount_holds_a_shared_lock(mounted: Mounted,
                                       taken: tuple[Path, Path, dict[str, str]]) -> None:
    repo_path, env = taken[1], taken[2]
    assert len(list((repo_path / "locks").iterdir())) == 1
    # another reader is welcome; prune (exclusive) is refused while mounted
    assert run_snapkit(["ls", "latest"], env).returncode == 0
    prune = run_snapkit(["prune"], env)
    assert prune.returncode == 11, prune.stderr
    assert mounted.stop()[0] == 0
    assert list((repo_path / "locks").iterdir()) == []


def test_json_events_when_mounted_and_unmounted(taken: tuple[Path, Path, dict[str, str]],
                                                tmp_path: Path, libfuse: str) -> None:
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    with _running({**taken[2], "FUSE_LIBRARY_PATH": libfuse}, mountpoint, "--json") as proc:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [
        {"event": "mounted", "mountpoint": str(mountpoint), "snapshots": 2},
        {"event": "unmounted", "mountpoint": str(mountpoint)}]
    assert err == ""


def test_a_killed_mount_is_cleaned_up_by_the_fixture(taken: tuple[Path, Path, dict[str, str]],
                                                     tmp_path: Path, libfuse: str) -> None:
    """The teardown's own check: a mount whose process was killed (SIGKILL: no unmount) is
    still found and unmounted. (On a copy of the repository: the kill leaves a lock.)"""
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    shutil.copytree(taken[1], tmp_path / "repo")
    env = {**taken[2], "SNAPKIT_REPO": str(tmp_path / "repo"), "FUSE_LIBRARY_PATH": libfuse}
    with _running(env, mountpoint) as proc:
        proc.kill()
        proc.wait()
        assert _is_mounted(mountpoint)  # left behind, as a crash leaves it
        again = run_snapkit(["mount", str(mountpoint)], env)
        assert again.returncode == 2
        assert again.stderr == (f"snapkit: error: {mountpoint} is a FUSE mount whose process "
                                f"has ended; unmount it (fusermount -u {mountpoint}, or "
                                f"umount {mountpoint}) first\n")
    assert not _is_mounted(mountpoint)
    assert os.listdir(mountpoint) == []


def test_a_damaged_file_is_eio_and_one_warning_naming_it(
        taken: tuple[Path, Path, dict[str, str]], tmp_path: Path, libfuse: str) -> None:
    """The kernel reads a failing file several times (and ``cat`` gives up only then): one
    warning, naming the file by its path in the mount; the other files still read."""
    source = taken[0]
    shutil.copytree(taken[1], tmp_path / "repo")
    repo = Repository.open(tmp_path / "repo")
    node = find_node(repo.load_tree, repo.snapshots()[-1][1].tree,
                     split_path(str(source / "big.bin")))
    assert node is not None
    entry = repo.index.get(node.content[1])
    assert entry is not None
    pack = next((tmp_path / "repo" / "packs").rglob(entry.pack))
    raw = bytearray(pack.read_bytes())
    raw[entry.offset:entry.offset + 16] = bytes(16)
    pack.write_bytes(bytes(raw))
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    env = {**taken[2], "SNAPKIT_REPO": str(tmp_path / "repo"), "FUSE_LIBRARY_PATH": libfuse}
    with _running(env, mountpoint) as proc:
        inside = mountpoint / "ids" / repo.snapshots()[-1][0][:8] / str(source).lstrip("/")
        for _ in range(2):
            with pytest.raises(OSError) as info:
                (inside / "big.bin").read_bytes()
            assert info.value.errno == errno.EIO
        assert (inside / "exec.sh").read_bytes() == (source / "exec.sh").read_bytes()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [f"snapkit: warning: {inside.relative_to(mountpoint)}/big.bin: blob "
                        f"{entry.id} in pack {entry.pack} does not match its id (data "
                        "corrupted)"], err
