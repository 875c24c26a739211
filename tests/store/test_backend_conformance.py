"""The storage backend conformance suite (after restic's ``internal/backend/test/suite.go``).

``TestBackendConformance`` runs against every backend in ``BACKENDS``: the local directory,
and S3 (a real ``rclone serve s3`` on loopback, see ``tests/s3server.py``) both under a key
prefix and at a bucket's root, each test in a new bucket, and the fault-injecting wrapper of
``tests/faulty.py`` with no fault set (it must be transparent). ``TestLocalBackend`` covers what
only a local directory has: temp files, POSIX modes, directory fsync. ``TestErrorsSurface``
injects faults into each backend and checks that the repository passes every error on to its
caller, and leaves nothing half-done behind.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faulty import FaultyBackend, InjectedFault, flip

from snapkit.format.errors import IntegrityError
from snapkit.format.model import Snapshot
from snapkit.store.backend import KINDS, TMP_PREFIX, Backend, LocalBackend, NotFound
from snapkit.store.lock import repository_lock
from snapkit.store.repository import RepoConfig, Repository

BackendFactory = Callable[[pytest.FixtureRequest, Path], Backend]


def _s3(prefix: str) -> BackendFactory:
    def make(request: pytest.FixtureRequest, tmp: Path) -> Backend:
        server = request.getfixturevalue("s3_server")
        backend: Backend = server.backend(server.new_bucket(), prefix)
        return backend

    return make


BACKENDS: dict[str, BackendFactory] = {
    "local": lambda _request, tmp: LocalBackend(tmp / "repo"),
    "local-through-faulty": lambda _request, tmp: FaultyBackend(LocalBackend(tmp / "repo")),
    "s3": _s3("some/prefix"),
    "s3-bucket-root": _s3(""),
}

DATA_KINDS = [k for k in KINDS if k != "config"]
ID_A = "0a" + "1" * 30
ID_B = "0b" + "2" * 30
ID_C = "ff" + "3" * 30


@pytest.fixture(params=sorted(BACKENDS))
def be(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = BACKENDS[request.param](request, tmp_path)
    b.create()
    yield b


class TestBackendConformance:
    def test_exists_only_after_config_is_saved(self, be: Backend) -> None:
        assert not be.exists()
        be.save("config", "config", b'{"format": "snapkit-repository"}')
        assert be.exists()
        assert list(be.list("config")) == ["config"]

    def test_create_is_idempotent(self, be: Backend) -> None:
        be.save("snapshots", ID_A, b"keep me")
        be.create()
        assert be.load("snapshots", ID_A) == b"keep me"

    @pytest.mark.parametrize("kind", DATA_KINDS)
    @pytest.mark.parametrize(
        "data", [b"", b"x", bytes(range(256)) * 3, os.urandom(3 * 1024 * 1024 + 7)],
        ids=["empty", "one", "binary", "3MiB"],
    )
    def test_save_load_round_trip(self, be: Backend, kind: str, data: bytes) -> None:
        be.save(kind, ID_A, data)
        assert be.load(kind, ID_A) == data
        assert be.size(kind, ID_A) == len(data)

    def test_save_replaces(self, be: Backend) -> None:
        be.save("index", ID_A, b"first version, longer")
        be.save("index", ID_A, b"second")
        assert be.load("index", ID_A) == b"second"
        assert be.size("index", ID_A) == 6
        assert list(be.list("index")) == [ID_A]

    @pytest.mark.parametrize(
        ("offset", "length"),
        [(0, None), (0, 0), (0, 1), (10, None), (10, 5), (99, 1), (99, None), (95, 100),
         (100, None), (150, 10), (0, 100), (1, 99)],
    )
    def test_load_offset_length(self, be: Backend, offset: int, length: int | None) -> None:
        data = bytes(range(100))
        be.save("packs", ID_A, data)
        want = data[offset:] if length is None else data[offset : offset + length]
        assert be.load("packs", ID_A, offset, length) == want

    @pytest.mark.parametrize("kind", DATA_KINDS)
    def test_list(self, be: Backend, kind: str) -> None:
        assert list(be.list(kind)) == []
        names = {ID_A, ID_B, ID_C}
        for n in names:
            be.save(kind, n, n.encode())
        assert sorted(be.list(kind)) == sorted(names)
        for other in DATA_KINDS:
            if other != kind:
                assert list(be.list(other)) == []

    def test_list_many_packs_across_prefixes(self, be: Backend) -> None:
        names = {f"{i:02x}" + "a" * 30 for i in range(0, 256, 7)}
        for n in names:
            be.save("packs", n, b"p")
        assert sorted(be.list("packs")) == sorted(names)

    @pytest.mark.parametrize("kind", DATA_KINDS)
    def test_remove(self, be: Backend, kind: str) -> None:
        be.save(kind, ID_A, b"a")
        be.save(kind, ID_B, b"b")
        be.remove(kind, ID_A)
        assert list(be.list(kind)) == [ID_B]
        with pytest.raises(NotFound):
            be.load(kind, ID_A)
        be.remove(kind, ID_A)  # a missing file is not an error
        be.remove(kind, ID_C)
        assert be.load(kind, ID_B) == b"b"

    @pytest.mark.parametrize("kind", DATA_KINDS)
    def test_not_found(self, be: Backend, kind: str) -> None:
        with pytest.raises(NotFound):
            be.load(kind, ID_A)
        with pytest.raises(NotFound):
            be.load(kind, ID_A, 5, 10)
        with pytest.raises(NotFound):
            be.size(kind, ID_A)

    def test_config_not_found(self, be: Backend) -> None:
        with pytest.raises(NotFound):
            be.load("config", "config")
        assert list(be.list("config")) == []

    @pytest.mark.parametrize("name", ["", ".tmp-x", "..", "a/b", "a\\b", "x\0y", "../escape"])
    def test_invalid_names_are_refused(self, be: Backend, name: str) -> None:
        with pytest.raises(ValueError):
            be.save("snapshots", name, b"x")
        with pytest.raises(ValueError):
            be.load("snapshots", name)

    def test_unknown_kind_is_refused(self, be: Backend) -> None:
        with pytest.raises(ValueError):
            be.save("data", ID_A, b"x")
        with pytest.raises(ValueError):
            be.load("secrets", ID_A)

    def test_location_names_the_store(self, be: Backend) -> None:
        assert isinstance(be.location, str)
        assert be.location

    @pytest.mark.parametrize("kind", KINDS)
    def test_modified_is_the_write_time(self, be: Backend, kind: str) -> None:
        name = "config" if kind == "config" else ID_A
        before = time.time()
        be.save(kind, name, b"x")
        written = be.modified(kind, name)
        # None is allowed (the backend cannot tell); a time is the write's, within clock
        # granularity (S3 LastModified has whole seconds).
        assert written is None or before - 2 <= written <= time.time() + 2
        be.remove(kind, name)
        with pytest.raises(NotFound):
            be.modified(kind, name)

    def test_a_listing_does_not_hide_a_removal_or_a_new_size(self, be: Backend) -> None:
        be.save("packs", ID_A, b"12345")
        assert list(be.list("packs")) == [ID_A]
        assert be.size("packs", ID_A) == 5
        be.save("packs", ID_A, b"123")
        assert be.size("packs", ID_A) == 3
        be.remove("packs", ID_A)
        with pytest.raises(NotFound):
            be.size("packs", ID_A)

    def test_temp_files_and_local_root(self, be: Backend) -> None:
        """What callers ask instead of the backend's class: where a local repository lives,
        and the temp files interrupted writes left (a store whose writes are atomic has
        none; a clean local directory neither)."""
        be.save("config", "config", b"{}")
        be.save("packs", ID_A, b"pack")
        root = be.local_root()
        assert root is None or (root / "config").read_bytes() == b"{}"
        assert list(be.temp_files()) == []
        assert be.remove_temp(f"index/{TMP_PREFIX}{ID_B}-1234") is False
        for name in ("index/" + ID_A, f"../{TMP_PREFIX}x", f"a/b/c/{TMP_PREFIX}x",
                     f"index//{TMP_PREFIX}x", f"./{TMP_PREFIX}x", "config"):
            with pytest.raises(ValueError):
                be.remove_temp(name)


class TestLocalBackend:
    """Properties of the local directory backend: atomic writes, modes, hidden temp files."""

    @pytest.fixture
    def local(self, tmp_path: Path) -> LocalBackend:
        b = LocalBackend(tmp_path / "repo")
        b.create()
        return b

    def _all(self, root: Path) -> list[Path]:
        return [Path(d) / n for d, dirs, files in os.walk(root) for n in dirs + files]

    def test_layout_and_modes(self, local: LocalBackend) -> None:
        old = os.umask(0o022)
        try:
            local.save("config", "config", b"{}")
            for kind in DATA_KINDS:
                local.save(kind, ID_A, b"data")
            local.save("packs", ID_C, b"pack")
        finally:
            os.umask(old)
        root = local.root
        assert (root / "config").is_file()
        assert (root / "packs" / "0a" / ID_A).is_file()
        assert (root / "packs" / "ff" / ID_C).is_file()
        assert (root / "index" / ID_A).is_file()
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        for p in self._all(root):
            mode = stat.S_IMODE(p.lstat().st_mode)
            assert mode == (0o700 if p.is_dir() else 0o600), f"{p}: {oct(mode)}"

    def test_no_temp_files_left(self, local: LocalBackend) -> None:
        for i in range(20):
            local.save("packs", f"{i:02x}" + "0" * 30, os.urandom(1000))
            local.save("snapshots", ID_A, os.urandom(100))  # replace repeatedly
        leftovers = [p for p in self._all(local.root) if p.name.startswith(TMP_PREFIX)]
        assert leftovers == []

    def test_local_root_is_the_directory(self, local: LocalBackend, tmp_path: Path) -> None:
        assert local.local_root() == tmp_path / "repo"

    def test_temp_files_of_interrupted_writes(self, local: LocalBackend) -> None:
        """Every ``.tmp-*`` in the layout is listed (repo-relative name, size, mtime) and can be
        removed once; the stored files around them are not touched."""
        local.save("packs", ID_A, b"pack")
        local.save("index", ID_A, b"index")
        partials = {
            f"{TMP_PREFIX}config-1": b"c",
            f"index/{TMP_PREFIX}{ID_B}-2": b"ii",
            f"packs/{TMP_PREFIX}x": b"ppp",
            f"packs/0a/{TMP_PREFIX}{ID_B}-3": b"pppp",
            f"locks/{TMP_PREFIX}l": b"lllll",
            f"snapshots/{TMP_PREFIX}s": b"ssssss",
        }
        for name, data in partials.items():
            (local.root / name).write_bytes(data)
        (local.root / "index" / "notes").write_bytes(b"not a temp file")
        before = time.time()
        found = {t.name: t for t in local.temp_files()}
        assert {n: t.size for n, t in found.items()} == {n: len(d) for n, d in partials.items()}
        assert all(before - 5 <= t.modified <= time.time() + 1 for t in found.values())
        for name in partials:
            assert local.remove_temp(name) is True
            assert local.remove_temp(name) is False
        assert list(local.temp_files()) == []
        assert local.load("packs", ID_A) == b"pack" and local.load("index", ID_A) == b"index"
        assert (local.root / "index" / "notes").exists()

    def test_temp_files_are_not_listed(self, local: LocalBackend) -> None:
        local.save("index", ID_A, b"real")
        (local.root / "index" / f"{TMP_PREFIX}{ID_B}-1234").write_bytes(b"partial")
        (local.root / "packs" / "0b").mkdir()
        (local.root / "packs" / "0b" / f"{TMP_PREFIX}{ID_B}-1234").write_bytes(b"partial")
        assert list(local.list("index")) == [ID_A]
        assert list(local.list("packs")) == []

    def test_failed_rename_keeps_old_content_and_no_temp(self, local: LocalBackend) -> None:
        # A directory squatting on the final name makes the rename fail for real.
        blocker = local.root / "snapshots" / ID_B
        blocker.mkdir()
        (blocker / "x").write_bytes(b"")
        with pytest.raises(OSError):
            local.save("snapshots", ID_B, b"new")
        names = os.listdir(local.root / "snapshots")
        assert names == [ID_B]

    def test_failed_fsync_leaves_old_file_and_no_temp(
        self, local: LocalBackend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        local.save("index", ID_A, b"old")

        def broken_fsync(fd: int) -> None:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(os, "fsync", broken_fsync)  # the module backend.py uses
        with pytest.raises(OSError):
            local.save("index", ID_A, b"new content")
        monkeypatch.undo()
        assert local.load("index", ID_A) == b"old"
        assert os.listdir(local.root / "index") == [ID_A]

    def test_symlinked_entries_are_not_listed(self, local: LocalBackend, tmp_path: Path) -> None:
        (tmp_path / "elsewhere").write_bytes(b"x")
        os.symlink(tmp_path / "elsewhere", local.root / "snapshots" / ID_C)
        local.save("snapshots", ID_A, b"a")
        assert list(local.list("snapshots")) == [ID_A]

    def test_list_on_missing_kind_dir(self, tmp_path: Path) -> None:
        b = LocalBackend(tmp_path / "never-created")
        assert list(b.list("packs")) == []
        assert list(b.list("index")) == []
        assert not b.exists()


class TestLoadRanges:
    """``load_ranges``: several byte ranges of one file in one go, in the order asked."""

    def test_ranges_in_any_order(self, be: Backend) -> None:
        data = bytes(range(256)) * 4096  # 1 MiB
        be.save("packs", ID_A, data)
        asked = [(1000, 10), (0, 5), (500_000, 70_000), (1000, 10), (len(data) - 3, 3),
                 (300_000, 0)]
        got = be.load_ranges("packs", ID_A, asked)
        assert got == [data[o:o + n] for o, n in asked]

    def test_far_apart_and_past_the_end(self, be: Backend) -> None:
        data = b"x" * 100 + b"y" * 100
        be.save("packs", ID_B, data)
        assert be.load_ranges("packs", ID_B, [(150, 100), (0, 2)]) == [b"y" * 50, b"xx"]
        assert be.load_ranges("packs", ID_B, []) == []

    def test_missing_file(self, be: Backend) -> None:
        with pytest.raises(NotFound):
            be.load_ranges("packs", ID_C, [(0, 1)])


class TestErrorsSurface:
    """Faults injected into each backend (``tests/faulty.py``): the repository passes the
    backend's error on to its caller unchanged, damaged bytes are an IntegrityError, and a
    failed write leaves nothing that a later run or reader would trip over."""

    CONFIG = RepoConfig(id="c0" * 16)

    @pytest.fixture
    def faulty(self, be: Backend) -> FaultyBackend:
        be.save("config", "config", self.CONFIG.to_json())
        return FaultyBackend(be)

    def _repo(self, backend: Backend) -> Repository:
        return Repository(backend, self.CONFIG)

    def test_a_failed_pack_write_surfaces_and_indexes_nothing(self, faulty: FaultyBackend
                                                              ) -> None:
        data = os.urandom(5000)
        faulty.fail("save", "packs", error=OSError(5, "Input/output error"))
        with pytest.raises(OSError, match="Input/output error"), \
                self._repo(faulty).saver() as saver:
            saver.save_data(data)
        assert list(faulty.inner.list("packs")) == []
        assert list(faulty.inner.list("index")) == []
        with self._repo(faulty).saver() as saver:  # the fault was one call: the next run works
            blob = saver.save_data(data)
        assert self._repo(faulty.inner).load_blob(blob) == data

    def test_a_failed_index_write_removes_the_packs_it_would_list(self, faulty: FaultyBackend
                                                                  ) -> None:
        faulty.fail("save", "index")
        with pytest.raises(InjectedFault), self._repo(faulty).saver() as saver:
            saver.save_data(os.urandom(5000))
        assert faulty.count("save", kind="packs") == 1
        assert list(faulty.inner.list("packs")) == []
        assert list(faulty.inner.list("index")) == []

    def test_a_failed_manifest_write_adds_no_snapshot(self, faulty: FaultyBackend) -> None:
        faulty.fail("save", "snapshots", error=OSError(28, "No space left on device"))
        with pytest.raises(OSError, match="No space left"):
            self._repo(faulty).save_snapshot(Snapshot(0, "h", "u", ("/",), "00" * 16))
        assert self._repo(faulty.inner).snapshots() == []

    @pytest.mark.parametrize("how", ["load", "load_ranges"])
    def test_damaged_bytes_are_an_integrity_error(self, faulty: FaultyBackend, how: str
                                                  ) -> None:
        with self._repo(faulty.inner).saver() as saver:
            blob = saver.save_data(os.urandom(5000))  # incompressible: stored raw
        faulty.corrupt("packs", how=flip(-1), times=None)
        repo = self._repo(faulty)
        with pytest.raises(IntegrityError, match=f"blob {blob} in pack .* does not match its id"):
            if how == "load":
                repo.load_blob(blob)
            else:
                list(repo.read_blobs([blob]))

    @pytest.mark.parametrize(("op", "kind"), [("load", "index"), ("list", "index")])
    def test_a_failed_read_of_the_index_fails_its_first_use(self, faulty: FaultyBackend,
                                                            op: str, kind: str) -> None:
        """The index is read when first needed (not at open); a failed read then surfaces
        as the error it is, never as an empty index: the next use reads it again."""
        with self._repo(faulty.inner).saver() as saver:
            blob = saver.save_data(b"indexed")
        faulty.fail(op, kind, error=TimeoutError("read timed out"))
        repo = self._repo(faulty)
        with pytest.raises(TimeoutError, match="read timed out"):
            repo.load_blob(blob)
        assert blob in repo.index
        assert repo.load_blob(blob) == b"indexed"

    def test_a_failed_listing_of_snapshots_surfaces(self, faulty: FaultyBackend) -> None:
        repo = self._repo(faulty)
        faulty.fail("list", "snapshots", error=ConnectionError("connection reset"))
        with pytest.raises(ConnectionError, match="connection reset"):
            repo.snapshots()

    def test_a_failed_removal_surfaces_and_keeps_the_file(self, faulty: FaultyBackend) -> None:
        sid = self._repo(faulty).save_snapshot(Snapshot(0, "h", "u", ("/",), "00" * 16))
        faulty.fail("remove", "snapshots", error=PermissionError(13, "Permission denied"))
        with pytest.raises(PermissionError):
            self._repo(faulty).remove_snapshot(sid)
        assert self._repo(faulty.inner).snapshot_ids() == [sid]

    def test_a_failed_lock_write_leaves_no_lock(self, faulty: FaultyBackend) -> None:
        faulty.fail("save", "locks")
        with pytest.raises(InjectedFault), repository_lock(faulty, False, "test"):
            raise AssertionError("the lock was not taken")
        assert list(faulty.inner.list("locks")) == []
        with repository_lock(faulty, True, "test"):  # nothing left that holds the repository
            assert len(list(faulty.inner.list("locks"))) == 1
        assert list(faulty.inner.list("locks")) == []
