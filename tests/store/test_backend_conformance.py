"""The storage backend conformance suite (after restic's ``internal/backend/test/suite.go``).

``TestBackendConformance`` runs against every backend in ``BACKENDS``: the local directory,
and S3 (a real ``rclone serve s3`` on loopback, see ``tests/s3server.py``) both under a key
prefix and at a bucket's root, each test in a new bucket. ``TestLocalBackend`` covers what only
a local directory has: temp files, POSIX modes, directory fsync.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from snapkit.store import backend as backend_mod
from snapkit.store.backend import KINDS, TMP_PREFIX, Backend, LocalBackend, NotFound

BackendFactory = Callable[[pytest.FixtureRequest, Path], Backend]


def _s3(prefix: str) -> BackendFactory:
    def make(request: pytest.FixtureRequest, tmp: Path) -> Backend:
        server = request.getfixturevalue("s3_server")
        backend: Backend = server.backend(server.new_bucket(), prefix)
        return backend

    return make


BACKENDS: dict[str, BackendFactory] = {
    "local": lambda _request, tmp: LocalBackend(tmp / "repo"),
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
            be.load("keys", ID_A)

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

        monkeypatch.setattr(backend_mod.os, "fsync", broken_fsync)
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
