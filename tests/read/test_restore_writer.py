"""The restore's write side (``snapkit.read.restore_writer``): where a file is written under its
own name and where to a temp name renamed into place, the mode and owner a file ends with
whatever the umask, the system calls spared when creation already gave them, and the sweep of
an interrupted restore's partial files."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import dead_pid

from snapkit.format.model import NODE_FILE, Node, content_id
from snapkit.read.created import current_umask
from snapkit.read.dirfds import DIRFD
from snapkit.read.restore_files import ParallelFiles
from snapkit.read.restore_writer import TEMP_PREFIX, Writer

pytestmark = pytest.mark.skipif(not DIRFD, reason="needs directory descriptors")

MODES = (0o644, 0o600, 0o664, 0o755, 0o444, 0o000, 0o777, 0o4755, 0o2750, 0o1644)


def read_blobs(ids: Sequence[str]) -> Iterator[bytes]:
    for blob in ids:
        yield blob.encode()


def node(name: str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> Node:
    data = f"content of {name}\n"
    return Node(name=name, type=NODE_FILE, mode=mode, mtime_ns=1_500_000_000_123_456_789,
                size=len(data), content=(data,), hash=content_id(data.encode()), uid=uid,
                gid=gid)


class Calls:
    """Counts calls of some ``os`` functions (patched for the test), by name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
        self.counts = dict.fromkeys(names, 0)
        for name in names:
            real = getattr(os, name)

            def counted(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
                self.counts[_name] += 1
                return _real(*args, **kw)

            monkeypatch.setattr(os, name, counted)


def write(writer: Writer, files: Sequence[tuple[tuple[str, ...], Node]]) -> None:
    with ParallelFiles[int](read_blobs, workers=2) as pool:
        for i, (parts, n) in enumerate(files):
            pool.add(i, writer.prepare(parts, own_fd=True), n)
        outcomes = [o for _, o in pool.finished(wait=True)]
    assert all(isinstance(o, int) for o in outcomes), outcomes


@pytest.fixture
def umask() -> Iterator[Any]:
    old = os.umask(0o022)
    os.umask(old)

    def set_umask(value: int) -> None:
        os.umask(value)

    yield set_umask
    os.umask(old)


def test_current_umask_is_read_without_changing_it(umask: Any) -> None:
    if not os.path.exists("/proc/self/status"):
        assert current_umask() is None
        return
    for value in (0o022, 0o077, 0o002, 0):
        umask(value)
        assert current_umask() == value
        assert current_umask() == value  # not changed by reading it


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o000, 0o777])
def test_files_end_with_their_mode_whatever_the_umask(tmp_path: Path, umask: Any,
                                                      mask: int) -> None:
    """In a directory the restore made (own names, mode given at creation) and in one that
    was there (temp names): every file ends with its snapshot's mode, special bits included,
    and its mtime, whatever the umask cuts from a mode given at creation."""
    (tmp_path / "t" / "old").mkdir(parents=True)
    umask(mask)
    writer = Writer(str(tmp_path / "t"), 0)
    writer.mkdir(("old",))
    writer.mkdir(("new",))
    files = [((d, f"m{mode:o}"), node(f"m{mode:o}", mode)) for d in ("new", "old")
             for mode in MODES]
    write(writer, files)
    writer.close()
    for (d, name), n in files:
        st = (tmp_path / "t" / d / name).lstat()
        assert (oct(st.st_mode & 0o7777), st.st_mtime_ns) == (oct(n.mode), n.mtime_ns), (d, name)
        assert (tmp_path / "t" / d / name).read_bytes() == f"content of {name}\n".encode()
    assert not list((tmp_path / "t").rglob(TEMP_PREFIX + "*"))


def test_own_names_in_made_directories_temp_names_elsewhere(
        tmp_path: Path, umask: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A directory the restore made holds nothing to be in the way: its files are created
    under their own name, not renamed, and not chmod-ed when the umask keeps their mode; in a
    directory that was there, each is written to a temp name and renamed over what is there."""
    (tmp_path / "t" / "old").mkdir(parents=True)
    (tmp_path / "t" / "old" / "a").write_bytes(b"what was there\n")
    umask(0o022)
    writer = Writer(str(tmp_path / "t"), 0)
    writer.mkdir(("old",))
    writer.mkdir(("new",))
    calls = Calls(monkeypatch, "rename", "fchmod")
    write(writer, [(("new", "a"), node("a", 0o644)), (("new", "b"), node("b", 0o755)),
                   (("new", "c"), node("c", 0o664))])
    assert calls.counts == {"rename": 0, "fchmod": 1}  # c: the umask takes its group write
    write(writer, [(("old", "a"), node("a", 0o644)), (("old", "b"), node("b", 0o644))])
    assert calls.counts == {"rename": 2, "fchmod": 3}  # created 0600 there, then chmod-ed
    writer.close()
    assert (tmp_path / "t" / "old" / "a").read_bytes() == b"content of a\n"
    assert oct((tmp_path / "t" / "new" / "c").stat().st_mode & 0o777) == oct(0o664)


def test_a_name_given_twice_in_a_made_directory_keeps_the_last(tmp_path: Path) -> None:
    """A (hostile or damaged) snapshot naming a file twice: the second write meets the first
    file and goes through a temp name; the last one wins, nothing else is left."""
    writer = Writer(str(tmp_path / "t"), 0)
    writer.mkdir(("d",))
    write(writer, [(("d", "x"), node("x", 0o600))])
    second = replace(node("x", 0o640), content=("second\n",), size=7,
                     hash=content_id(b"second\n"))
    write(writer, [(("d", "x"), second)])
    writer.close()
    assert os.listdir(tmp_path / "t" / "d") == ["x"]
    assert (tmp_path / "t" / "d" / "x").read_bytes() == b"second\n"
    assert oct((tmp_path / "t" / "d" / "x").stat().st_mode & 0o777) == oct(0o640)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_root_chowns_only_files_not_already_its_own(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    writer = Writer(str(tmp_path / "t"), 0)
    writer.mkdir(("d",))
    calls = Calls(monkeypatch, "fchown")
    write(writer, [(("d", "mine"), node("mine", 0o644, 0, os.getegid())),
                   (("d", "theirs"), node("theirs", 0o4755, 1234, 5678)),
                   (("d", "group"), node("group", 0o640, 0, 5678))])
    writer.close()
    assert calls.counts == {"fchown": 2}
    for name, want in (("mine", (0, os.getegid(), 0o644)), ("theirs", (1234, 5678, 0o4755)),
                       ("group", (0, 5678, 0o640))):
        st = (tmp_path / "t" / "d" / name).lstat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == want, name


def test_existing_directory_swept_even_when_nothing_is_written_in_it(tmp_path: Path) -> None:
    """The partial files of a dead restore are removed from a directory that was there even
    if none of its files needs writing (all already identical)."""
    d = tmp_path / "t" / "d"
    d.mkdir(parents=True)
    dead = d / f"{TEMP_PREFIX}{dead_pid()}-bbbbbbbbbbbb"
    dead.write_bytes(b"partial")
    writer = Writer(str(tmp_path / "t"), 0)
    writer.mkdir(("d",))
    writer.close()
    assert not dead.exists() and writer.leftovers == 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_a_set_group_id_directory_passes_its_group_down_and_root_chowns(
        tmp_path: Path) -> None:
    """Below a set-group-ID directory of another group, the directories a restore makes and
    their files get that group: root's files are chown-ed back to the snapshot's group."""
    top = tmp_path / "t"
    top.mkdir()
    os.chown(top, 0, 5678)
    top.chmod(0o2775)
    writer = Writer(str(top), 0)
    writer.mkdir(("made",))
    writer.mkdir(("made", "deeper"))
    write(writer, [(("made", "deeper", "f"), node("f", 0o644, 0, os.getegid()))])
    writer.close()
    assert (top / "made" / "deeper").stat().st_gid == 5678  # what the kernel does
    st = (top / "made" / "deeper" / "f").stat()
    assert (st.st_uid, st.st_gid, oct(st.st_mode & 0o7777)) == (0, os.getegid(), oct(0o644))
