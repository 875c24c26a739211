"""What ``snapkit mount`` shows, without FUSE: the layout above the snapshots
(``read.mount_layout``), ranged reads of stored files (``read.mount_files``) and the answers
by path (``read.mount_fs``), over real repositories — damaged, unreachable (a faulty backend)
or moved away (``ops.mount.Reader``). A real S3 outage under a real mount is in
``test_mount_s3.py``."""

from __future__ import annotations

import errno
import os
import random
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest
from faulty import FaultyBackend
from helpers import File, Symlink, make_tree, take

from snapkit.format.errors import RepositoryMissing
from snapkit.format.model import Node, Snapshot, Tree
from snapkit.format.paths import split_path
from snapkit.ops.events import ignore
from snapkit.ops.mount import Reader
from snapkit.read.mount_files import BlobCache, read_range, stored_file
from snapkit.read.mount_fs import Catalog, SnapshotFS
from snapkit.read.mount_layout import file_name, layout, snapshot_at, time_name
from snapkit.read.treewalk import find_node
from snapkit.store.backend import LocalBackend
from snapkit.store.repository import Repository

MiB = 2**20
T = 1_700_000_000 * 10**9


def _snap(time_ns: int, host: str = "h", tags: tuple[str, ...] = ()) -> Snapshot:
    return Snapshot(time_ns=time_ns, hostname=host, username="u", sources=("/x",),
                    tree="0" * 32, tags=tags)


def _catalog(repo: Repository) -> Catalog:
    def blob_size(blob_id: str) -> int:
        entry = repo.index.get(blob_id)
        assert entry is not None
        return entry.raw_length

    return Catalog(repo.snapshots(), repo.load_tree, repo.load_blob, blob_size)


def _file_node(repo: Repository, path: Path) -> Node:
    """The node of ``path`` in the newest snapshot."""
    node = find_node(repo.load_tree, repo.snapshots()[-1][1].tree, split_path(str(path)))
    assert node is not None
    return node


# --------------------------------------------------------------------------- layout


def test_layout_as_restic_lays_it_out() -> None:
    snaps = [("a" * 32, _snap(T, "h1", ("daily",))), ("b" * 32, _snap(T, "h2", ("daily", "x"))),
             ("c" * 32, _snap(T + 60 * 10**9, "h1"))]
    lay = layout(snaps)
    first, later = time_name(T), time_name(T + 60 * 10**9)
    assert lay.children[()] == ("hosts", "ids", "snapshots", "tags")
    assert lay.children[("ids",)] == ("aaaaaaaa", "bbbbbbbb", "cccccccc")
    # the same second twice: the later one gets -1 (restic's uniqueName); latest is the newest
    assert lay.children[("snapshots",)] == (first, f"{first}-1", later, "latest")
    assert lay.places[("snapshots", f"{first}-1")].snapshot_id == "b" * 32
    assert lay.places[("snapshots", "latest")].target == later
    assert lay.children[("hosts", "h1")] == (first, later, "latest")
    assert lay.places[("hosts", "h2", "latest")].target == first
    assert lay.children[("tags",)] == ("daily", "x")
    assert lay.places[("tags", "daily", "latest")].snapshot_id == "b" * 32
    # a directory's time is its newest snapshot's
    assert lay.places[("hosts", "h1")].time_ns == T + 60 * 10**9
    assert lay.places[("tags", "x")].time_ns == T
    assert lay.places[()].time_ns == T + 60 * 10**9


def test_an_empty_repository_has_the_four_empty_directories() -> None:
    lay = layout([])
    assert lay.children[()] == ("hosts", "ids", "snapshots", "tags")
    assert all(lay.children[(top,)] == () for top in lay.children[()])


def test_hosts_and_tags_as_file_names() -> None:
    assert [file_name(t) for t in ("", ".", "..", "a/b", "a_b", "50%", "ok", "x\0y")] == [
        "%", "%2E", "%2E%2E", "a%2Fb", "a_b", "50%25", "ok", "x%00y"]
    lay = layout([("a" * 32, _snap(T, "h/1", ("a/b", "a_b", "", "..")))])
    assert lay.children[("tags",)] == ("%", "%2E%2E", "a%2Fb", "a_b")
    assert lay.children[("hosts",)] == ("h%2F1",)
    assert lay.children[("tags", "a_b")] == lay.children[("tags", "a%2Fb")] == (
        time_name(T), "latest")


def test_no_two_hosts_or_tags_get_one_name() -> None:
    """The escaping is injective (tags ``a/b`` and ``a_b`` once shared ``tags/a_b``), and every
    name it makes is a file name."""
    rng = random.Random(16)
    texts = {"", ".", "..", "%", "%2E", "%2F", "a/b", "a_b", "a%2Fb", "/", "_", "__"}
    texts |= {"".join(rng.choice("a/_%.2EF\0") for _ in range(rng.randrange(6)))
              for _ in range(3000)}
    names = {file_name(t): t for t in texts}
    assert len(names) == len(texts)
    assert all(n not in ("", ".", "..") and "/" not in n and "\0" not in n for n in names)


def test_time_names_are_local_times() -> None:
    assert time_name(T) == time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(T / 1e9))


def test_snapshot_at_finds_the_snapshot_and_the_path_below() -> None:
    lay = layout([("a" * 32, _snap(T))])
    found = snapshot_at(lay, ("ids", "aaaaaaaa", "x", "y"))
    assert found is not None and found[0].snapshot_id == "a" * 32 and found[1] == ("x", "y")
    assert snapshot_at(lay, ("ids", "nope", "x")) is None
    assert snapshot_at(lay, ("snapshots", "latest", "x")) is None  # a link, not a directory


# --------------------------------------------------------------------------- ranged reads


def test_ranged_reads_load_only_the_blobs_they_touch(repo: Repository, tmp_path: Path) -> None:
    data = random.Random(3).randbytes(9 * MiB)
    src = make_tree(tmp_path / "src", {"big": data})
    take(repo, src)
    content = _file_node(repo, src / "big").content
    assert len(content) > 3
    file = stored_file(content, lambda b: repo.index.get(b).raw_length)  # type: ignore[union-attr]
    assert file.size == len(data)
    cache = BlobCache(repo.load_blob)
    rng = random.Random(4)
    for _ in range(50):
        offset, size = rng.randrange(len(data) + 10), rng.choice([1, 1000, 128 * 1024, 3 * MiB])
        assert read_range(file, offset, size, cache) == data[offset:offset + size]
    small = BlobCache(repo.load_blob, max_bytes=1)
    assert read_range(file, len(data) - 5, 5, small) == data[-5:]
    assert small.loads == 1  # the last blob only, not the file
    assert read_range(file, 0, 10, small) == data[:10] and small.loads == 2
    assert small.size <= 128 * 1024  # bounded: one blob kept, at most a chunk's maximum


# --------------------------------------------------------------------------- by path


def test_answers_by_path(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"d/f.txt": File(b"hello\n", mode=0o600, mtime_ns=T),
                                       "l": Symlink("d/f.txt")})
    take(repo, src, symlinks="record")
    fs = SnapshotFS(_catalog(repo))
    inside = "/ids/" + repo.snapshots()[0][0][:8] + str(src)
    attrs = fs.getattr(inside + "/d/f.txt")
    assert attrs["st_mode"] == stat.S_IFREG | 0o600 and attrs["st_size"] == 6
    assert attrs["st_mtime"] == T
    assert fs.readdir(inside) == ["d", "l"]
    assert fs.readlink(inside + "/l") == "d/f.txt"
    assert stat.S_ISLNK(fs.getattr("/snapshots/latest")["st_mode"])  # the kernel follows it
    with pytest.raises(OSError) as info:
        fs.getattr("/snapshots/latest" + str(src))
    assert info.value.errno == errno.ENOENT
    fh = fs.open(inside + "/d/f.txt", os.O_RDONLY)
    assert fs.read(fh, 1, 100) == b"ello\n"
    fs.release(fh)
    for path, flags, code in [(inside + "/d/f.txt", os.O_WRONLY, errno.EROFS),
                              (inside + "/d/f.txt", os.O_RDWR, errno.EROFS),
                              (inside + "/d", os.O_RDONLY, errno.EISDIR),
                              (inside + "/nope", os.O_RDONLY, errno.ENOENT)]:
        with pytest.raises(OSError) as info:
            fs.open(path, flags)
        assert info.value.errno == code, path
    with pytest.raises(OSError) as info:
        fs.readdir(inside + "/d/f.txt")
    assert info.value.errno == errno.ENOTDIR


def test_damage_is_eio_with_a_warning(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f": random.Random(5).randbytes(100_000)})
    take(repo, src)
    entry = repo.index.get(_file_node(repo, src / "f").content[0])
    assert entry is not None
    pack = next(p for p in (Path(repo.backend.location) / "packs").rglob(entry.pack))
    raw = bytearray(pack.read_bytes())
    raw[entry.offset:entry.offset + 16] = bytes(16)
    pack.write_bytes(bytes(raw))
    warnings: list[str] = []
    fs = SnapshotFS(_catalog(Repository.open(repo.backend.location)),
                    on_warning=warnings.append)
    path = f"ids/{repo.snapshots()[0][0][:8]}{src}/f"
    for _ in range(2):  # the kernel reads again, a reader opens it again: one warning
        fh = fs.open("/" + path, os.O_RDONLY)
        for offset in (0, 0, 4096):
            with pytest.raises(OSError) as info:
                fs.read(fh, offset, 100)
            assert info.value.errno == errno.EIO
        fs.release(fh)
    # the file is named by its path in the mount, and said once
    assert warnings == [f"{path}: blob {entry.id} in pack {entry.pack} does not match its id "
                        "(data corrupted)"]


def test_an_unreachable_repository_is_eio_with_one_warning_then_recovers(
        repo: Repository, tmp_path: Path) -> None:
    """The index is read when first needed, which may be by any request: while the store
    cannot be reached every request is EIO, said once, never another exception; the same
    filesystem reads again once the store answers."""
    src = make_tree(tmp_path / "src", {"d/f": b"content\n", "d/g": b"other\n"})
    take(repo, src)
    backend = FaultyBackend(LocalBackend(Path(repo.backend.location)))
    down = RepositoryMissing("cannot reach S3 endpoint http://127.0.0.1:9: Connection refused")
    warnings: list[str] = []
    fs = SnapshotFS(_catalog(Repository(backend, repo.config)), on_warning=warnings.append)
    backend.fail(("list", "load"), error=down, times=None)  # before the index is read
    inside = "/ids/" + repo.snapshots()[0][0][:8] + str(src)
    assert fs.readdir("/ids") == [repo.snapshots()[0][0][:8]]  # no read of the store
    for request in (lambda: fs.getattr(inside + "/d/f"), lambda: fs.readdir(inside),
                    lambda: fs.open(inside + "/d/f", os.O_RDONLY)):
        with pytest.raises(OSError) as info:
            request()
        assert info.value.errno == errno.EIO
    assert warnings == [f"{inside.lstrip('/')}/d/f: {down.message}; the mount answers with I/O "
                        "errors until the repository can be read again"]
    backend.faults.clear()  # the endpoint is back
    fh = fs.open(inside + "/d/f", os.O_RDONLY)
    assert fs.read(fh, 0, 100) == b"content\n"
    backend.fail("load", "packs", error=OSError(errno.ECONNRESET, "Connection reset"))
    fh = fs.open(inside + "/d/g", os.O_RDONLY)
    with pytest.raises(OSError) as info:
        fs.read(fh, 0, 100)  # a second outage is said again
    assert info.value.errno == errno.EIO and len(warnings) == 2
    assert warnings[1].startswith(f"{inside.lstrip('/')}/d/g: Connection reset; ")
    assert fs.read(fh, 0, 100) == b"other\n"


def test_a_bug_is_eio_with_a_warning_not_an_exception(repo: Repository, tmp_path: Path) -> None:
    take(repo, make_tree(tmp_path / "src", {"f": b"x"}))
    warnings: list[str] = []

    def broken(tree_id: str) -> Tree:
        raise KeyError(tree_id)

    fs = SnapshotFS(replace(_catalog(repo), load_tree=broken), on_warning=warnings.append)
    with pytest.raises(OSError) as info:
        fs.readdir("/ids/" + repo.snapshots()[0][0][:8])
    assert info.value.errno == errno.EIO
    assert len(warnings) == 1 and "KeyError" in warnings[0]


def test_a_repository_moved_away_is_said_to_be_gone_and_read_once_back(
        repo: Repository, tmp_path: Path) -> None:
    """Through the mount's own reader (``ops.mount.Reader``): not "blob not in the index
    (repository damaged)", and no damage recorded for it."""
    src = make_tree(tmp_path / "src", {"d/f": b"content\n", "g": b"other\n"})
    take(repo, src)
    where = Path(repo.backend.location)
    warnings: list[str] = []
    reader = Reader(str(where), Repository.open(where), ignore)
    fs = SnapshotFS(reader.catalog(), on_warning=warnings.append)
    inside = "/ids/" + repo.snapshots()[0][0][:8] + str(src)
    where.rename(tmp_path / "moved")
    for path in (inside + "/d/f", inside + "/g"):
        with pytest.raises(OSError) as info:
            fs.open(path, os.O_RDONLY)
        assert info.value.errno == errno.EIO
    assert warnings == [f"{inside.lstrip('/')}/d/f: the repository {where} is not there any more "
                        "(moved, deleted, or its disk unmounted?); the mount answers with I/O "
                        "errors until the repository can be read again"]
    (tmp_path / "moved").rename(where)
    fh = fs.open(inside + "/d/f", os.O_RDONLY)
    assert fs.read(fh, 0, 100) == b"content\n"
    reader.flush()
    assert Repository.open(where).index.damaged == {}


def test_new_snapshots_appear_after_a_refresh(repo: Repository, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f": b"one"})
    take(repo, src)
    catalogs = [_catalog(repo)]
    fs = SnapshotFS(catalogs[0], refresh=lambda: catalogs[-1], refresh_s=0.0)
    assert len(fs.readdir("/ids")) == 1
    (src / "f").write_bytes(b"two")
    take(repo, src)
    catalogs.append(_catalog(Repository.open(repo.backend.location)))
    assert len(fs.readdir("/ids")) == 2
    none_fs = SnapshotFS(replace(catalogs[0]), refresh=lambda: None, refresh_s=0.0)
    assert len(none_fs.readdir("/ids")) == 1
