"""Restore's files written by worker threads (``snapkit.read.restore_files``): outcomes in the
order given, a damaged file leaves nothing, no descriptor is left open, even when dropped."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from snapkit.format.errors import BlobUnreadable, IntegrityError
from snapkit.format.model import NODE_FILE, Node, content_id
from snapkit.read import restore_files
from snapkit.read.restore_files import ParallelFiles
from snapkit.read.restore_writer import TEMP_PREFIX, Writer


def read_blobs(ids: Sequence[str]) -> Iterator[bytes]:
    for blob in ids:
        if blob.startswith("bad"):
            raise BlobUnreadable("damaged", blob, "pack")
        yield blob.encode()


def node(name: str, blobs: tuple[str, ...]) -> Node:
    data = "".join(blobs).encode()
    return Node(name=name, type=NODE_FILE, mode=0o640, mtime_ns=1_000_000_000, size=len(data),
                content=blobs, hash=content_id(data))


def open_fds() -> int:
    """Descriptors open now, once what earlier tests left to the garbage collector is gone
    (else a descriptor closed by a collection during the test looks like one we closed)."""
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_outcomes_in_order_damage_leaves_nothing(tmp_path: Path) -> None:
    before = open_fds()
    writer = Writer(str(tmp_path / "t"), 0)
    writer.mkdir(("d",))
    names = [f"f{i:03d}" for i in range(100)]
    with ParallelFiles[str](read_blobs, workers=2) as files:
        got = []
        for i, name in enumerate(names):
            blobs = ("bad",) if i % 7 == 3 else (name, "-", "x" * i)
            files.add(name, writer.prepare(("d", name), own_fd=True), node(name, blobs))
            got += list(files.finished())
        got += list(files.finished(wait=True))
    writer.close()
    assert [key for key, _ in got] == names
    for i, (name, outcome) in enumerate(got):
        path = tmp_path / "t" / "d" / name
        if i % 7 == 3:
            assert isinstance(outcome, IntegrityError) and not path.exists()
        else:
            assert outcome == len(name) + 1 + i
            assert path.read_bytes() == f"{name}-{'x' * i}".encode()
            assert path.stat().st_mode & 0o777 == 0o640
    assert not [n for n in os.listdir(tmp_path / "t" / "d") if n.startswith(TEMP_PREFIX)]
    assert open_fds() == before


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_files_dropped_unwritten_close_their_descriptors(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restore_files, "BATCH_FILES", 1)
    before = open_fds()
    writer = Writer(str(tmp_path / "t"), 0)
    files = ParallelFiles[int](read_blobs, workers=1)
    for i in range(50):
        files.add(i, writer.prepare((f"f{i}",), own_fd=True), node(f"f{i}", ("a" * 100_000,)))
    files.close()  # most never started
    writer.close()
    assert open_fds() == before
    assert not [n for n in os.listdir(tmp_path / "t") if n.startswith(TEMP_PREFIX)]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_one_descriptor_copy_per_directory_run_and_none_left(tmp_path: Path) -> None:
    """Jobs of one directory share one copy of its descriptor; moving between directories
    (back and forth) releases the writer's hold, and the last job to finish closes it."""
    before = open_fds()
    writer = Writer(str(tmp_path / "t"), 0)
    for d in ("a", "b"):
        writer.mkdir((d,))
    jobs = [writer.prepare((d, f"f{i}"), own_fd=True) for i, d in enumerate("aabbab")]
    shared = [j.shared for j in jobs]
    assert shared[0] is shared[1] and shared[2] is shared[3] and shared[1] is not shared[2]
    assert len({id(s) for s in shared}) == 4  # a, b, a again, b again
    with ParallelFiles[int](read_blobs) as files:
        for i, job in enumerate(jobs):
            files.add(i, job, node(job.name, (f"data {i}",)))
        outcomes = list(files.finished(wait=True))
    assert [k for k, _ in outcomes] == list(range(6))
    writer.close()
    assert open_fds() == before
    assert (tmp_path / "t" / "b" / "f5").read_bytes() == b"data 5"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_big_files_read_ahead_in_pieces_damage_stays_with_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of at least BIG_FILE bytes is read ahead by helper threads, the small files of
    its batch from the batch's one reading: each written whole, a damaged big file leaves
    nothing and the files after it in the batch are written."""
    monkeypatch.setattr(restore_files, "BIG_FILE", 2_000)
    before = open_fds()
    writer = Writer(str(tmp_path / "t"), 0)
    big = tuple(f"{i:04d}" * 100 for i in range(8))  # 8 chunks of 400 bytes
    files = [("a", ("small a",)), ("big", big), ("b", ("small b",)),
             ("bad", (*big[:3], "bad", *big[3:])), ("c", ("small c",)), ("big2", big[::-1])]
    with ParallelFiles[str](read_blobs, workers=2) as pool:
        for name, blobs in files:
            pool.add(name, writer.prepare((name,), own_fd=True), node(name, blobs))
        got = dict(pool.finished(wait=True))
    writer.close()
    assert list(got) == [name for name, _ in files]
    for name, blobs in files:
        path = tmp_path / "t" / name
        if name == "bad":
            assert isinstance(got[name], IntegrityError) and not path.exists()
        else:
            assert path.read_bytes() == "".join(blobs).encode() and got[name] == path.stat().st_size
    assert not [n for n in os.listdir(tmp_path / "t") if n.startswith(TEMP_PREFIX)]
    assert open_fds() == before
