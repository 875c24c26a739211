"""Frozen version-1 repositories: what every future snapkit must read, exactly so.

``tests/format/repos/`` holds repositories written once by ``make_frozen.py`` (see its
docstring for what is in them) and checked in, after restic's
``cmd/restic/testdata/repo-*.tar.gz``. ``v1-normal`` holds two snapshots of ``/srv/frozen``;
the second is incremental. Everything below is recorded from that repository — ids, times,
tags, the SHA-256 of every restored file, the diff, the export members — and checked through
the command line, the interface users have. A reader change that fails here breaks every
existing repository: fix the reader, never the archives or the recorded values.

The ``v1-*`` damaged copies record what snapkit does with each kind of damage (issue 13):
``check`` exits 1 and names the damaged objects and the files each snapshot loses; every other
command skips what is damaged with one warning and keeps working on the rest, restoring every
intact file byte-identical; ``repair index``, ``repair packs`` and ``repair snapshots --forget``
bring each one back to a clean ``check --read-data``. Extend these; never weaken them.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import ISOLATE_VARS, CliResult, env_for, invoke_main

from snapkit.store.repository import Repository

REPOS = Path(__file__).resolve().parent / "repos"
SOURCE = "/srv/frozen"
SNAP_1 = "7bf6b0d0cece95e0257a98c5d55b890b"  # tag "base"
SNAP_2 = "f6d63568232e7dc6e6074b0c843d2ec7"  # tag "next", parent SNAP_1
T1 = 1_768_037_400_000_000_000  # 2026-01-10T09:30:00Z
T2 = T1 + 86_400_000_000_000
BIG_PACK = "8ee10ee7586f524ada4b84de051e00c0"  # big.txt's first chunks (shared by both)
TREE_PACK = "c529a385d88e41353ae96ce673399817"  # snapshot 1's small files and trees
BIG_CHUNK = "c01960797750814e766287be8a82d3b4"  # big.txt's first chunk
INDEX_1 = "0efb1064c0bf14cafe7882625ea0e79b"  # written by snapshot 1's run
INDEX_2 = "a96ed0c81c33ba3c0a25dc3418b4cfac"  # written by snapshot 2's run
ROOT_1 = "0fc2be1acf0c1beb6cebec846b68b804"  # snapshot 1's root tree

#: SHA-256 of every checked-in archive: regenerating them is never the fix (see above).
ARCHIVES = {
    "v1-normal": "788bd7f2c957fdeae92d6ca0cdef46794f1ac1381b390735d87e072d9e8b76de",
    "v1-index-missing": "b659446959d4e00af485b5d7dae5e07c09860f816cd8139b67acfd198e3bb926",
    "v1-pack-bitflip": "d12b9de51a77a970220c5ed58607c40506c0514706ab49c05abe52182159bf8b",
    "v1-pack-truncated": "84c6ab08d71832f73b596330f59a88852767e0cdbac4877a5659556dd223c0f5",
    "v1-tree-damaged": "a2c5cc5f48ced71999e5a3f7f1d6417dcb8699944d3ed31cf6d435cf8e4b26fa",
    "v1-manifest-damaged": "3b3f978ca85d86fe6e659c620cb4acd6b8663cd375915251638e4ca5325540cd",
    "v1-index-corrupt": "d6a200c6b7434e14cab4eb3eebda88e23c9de6a729676f81307544a139594f8d",
    "v1-pack-deleted": "0027f3451228adb85f401d10aab1907397b2fd96b9df367b6b258ad67672d08d",
}


# --------------------------------------------------------------------------- what was stored


@dataclass(frozen=True)
class File:
    mode: int
    mtime_ns: int
    size: int
    sha256: str


@dataclass(frozen=True)
class Dir:
    mode: int
    mtime_ns: int


@dataclass(frozen=True)
class Link:
    target: str


Restored = dict[str, File | Dir | Link]

_OLD = T1 - 3_600_000_000_000  # the tree's mtimes in snapshot 1
_NEW = T2 - 3_600_000_000_000  # what snapshot 2 changed
_SHA_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_SHA_CONFIG = "d58d51f8343cc5599f15da21c1c39e6629fc2eb8331ce604acfa37172277c713"
_SHA_DB = "dc126afd69449039174e9a92f3878c0ee13437248f38a9ff49e077ac5fb6c361"

#: Every entry a restore of each snapshot writes below the target (and nothing else).
RESTORED: dict[str, Restored] = {
    SNAP_1: {
        "srv/": Dir(0o755, T1 - 86_400_000_000_000),
        "srv/frozen/": Dir(0o755, _OLD),
        "srv/frozen/big.txt": File(0o644, _OLD, 70000, "ba54ba72d1be0266bb552f5449e3b43a"
                                   "804a53a3d64c80edacc094f99c9c87de"),
        "srv/frozen/config.json": File(0o600, _OLD, 189, _SHA_CONFIG),
        "srv/frozen/empty": File(0o644, _OLD, 0, _SHA_EMPTY),
        "srv/frozen/kind": File(0o644, _OLD, 30, "1b0bb46752bb1327f7d24a76da04b7233a22b327"
                                "5e643a22846968b48c03d3d4"),
        "srv/frozen/link": Link("notes.txt"),
        "srv/frozen/notes.txt": File(0o644, _OLD, 26, "92665cec2d7c7f3c6dd4011cf3a3dd78e4084f"
                                     "424c232d0f2c2d7fcfb53975f3"),
        "srv/frozen/state.sqlite": File(0o600, _OLD, 3072, _SHA_DB),
        "srv/frozen/sub/": Dir(0o700, _OLD),
        "srv/frozen/sub/deep.txt": File(0o640, _OLD, 12, "da81937d4f93a5a66ab373527413914cbaff9"
                                        "955c01e61404e142939343263b9"),
    },
    SNAP_2: {
        "srv/": Dir(0o755, T1 - 86_400_000_000_000),
        "srv/frozen/": Dir(0o755, _NEW),
        "srv/frozen/big.txt": File(0o644, _NEW, 73000, "1903912ecacc4ed459d2a6f78572f53e41cfbe"
                                   "fdde334d796fab3b9c170ffb24"),
        "srv/frozen/config.json": File(0o644, _OLD, 189, _SHA_CONFIG),
        "srv/frozen/empty": File(0o644, _OLD, 0, _SHA_EMPTY),
        "srv/frozen/kind": Link("sub/new.txt"),
        "srv/frozen/link": Link("sub/new.txt"),
        "srv/frozen/notes.txt": File(0o644, _NEW, 35, "72b9c221e5a1821854e8d57bed387c00b141f1a"
                                     "90d90f2a28aabd40525f681da"),
        "srv/frozen/state.sqlite": File(0o600, _OLD, 3072, _SHA_DB),
        "srv/frozen/sub/": Dir(0o700, _NEW),
        "srv/frozen/sub/new.txt": File(0o644, _NEW, 22, "ddd561a4ddb7e1c8ce929f4cdec97bcb151"
                                       "65b7ace492db40a4a0fcf65d754ba"),
    },
}

#: ``snapkit diff base next``, as marker and path.
DIFF = [
    "M  /srv/frozen/big.txt",
    "U  /srv/frozen/config.json",
    "T  /srv/frozen/kind",
    "M  /srv/frozen/link",
    "M  /srv/frozen/notes.txt",
    "-  /srv/frozen/sub/deep.txt",
    "+  /srv/frozen/sub/new.txt",
]


# --------------------------------------------------------------------------- helpers


def unpack(name: str, dest: Path) -> Path:
    """Extract ``repos/<name>.tar.gz`` below ``dest``; return the repository's path."""
    with tarfile.open(REPOS / f"{name}.tar.gz") as tar:
        tar.extractall(dest, filter="data")
    return dest / "repo"


def sk(repo: Path, *args: str) -> CliResult:
    """The real entry point, in-process, isolated from the user's config and repository."""
    env = {**env_for(repo.parent / "home"), "SNAPKIT_REPO": str(repo)}
    return invoke_main(args, env, isolate=ISOLATE_VARS)


def one_line_error(out: CliResult, needle: str) -> None:
    """Exit 1 with one line on stderr that names ``needle``."""
    assert out.code == 1, (out.code, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapkit: error: "), out.stderr
    assert needle in lines[0], lines[0]


def listing(target: Path) -> Restored:
    out: Restored = {}
    for dirpath, dirs, files in os.walk(target):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = p.relative_to(target).as_posix()
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = Link(os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel + "/"] = Dir(stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
                out[rel] = File(stat.S_IMODE(st.st_mode), st.st_mtime_ns, st.st_size, digest)
    return out


def check_json(repo: Path, *extra: str) -> tuple[int, dict[str, object]]:
    out = sk(repo, "check", "--json", *extra)
    return out.code, out.json()


# --------------------------------------------------------------------------- the normal one


@pytest.fixture
def normal(tmp_path: Path) -> Path:
    return unpack("v1-normal", tmp_path)


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_the_archives_are_the_frozen_ones(name: str) -> None:
    assert hashlib.sha256((REPOS / f"{name}.tar.gz").read_bytes()).hexdigest() == ARCHIVES[name]


def test_snapshots_lists_the_recorded_snapshots(normal: Path) -> None:
    out = sk(normal, "snapshots", "--json")
    assert out.code == 0, out.stderr
    rows = out.json()
    got = [{k: r[k] for k in ("id", "time_ns", "tags", "host", "username", "sources", "mode",
                               "parent", "files", "size", "imported", "complete")}
           for r in rows]
    common = {"host": "frozen-host", "username": "frozen", "sources": [SOURCE], "mode": "full",
              "imported": False, "complete": True}
    assert got == [
        {"id": SNAP_1, "time_ns": T1, "tags": ["base"], "parent": None, "files": 7,
         "size": 73329, **common},
        {"id": SNAP_2, "time_ns": T2, "tags": ["next"], "parent": SNAP_1, "files": 6,
         "size": 76318, **common},
    ]


@pytest.mark.parametrize(("selector", "want"), [
    ("latest", SNAP_2), ("base", SNAP_1), ("next", SNAP_2), ("latest~1", SNAP_1),
    ("next~1", SNAP_1), (SNAP_1[:4], SNAP_1), (SNAP_2, SNAP_2),
])
def test_selectors_resolve_as_recorded(normal: Path, selector: str, want: str) -> None:
    out = sk(normal, "show", selector, "--json")
    assert out.code == 0, out.stderr
    assert out.json()["id"] == want


def test_the_manifest_is_read_in_full(normal: Path) -> None:
    out = sk(normal, "show", "base", "--json")
    assert out.code == 0, out.stderr
    doc = out.json()
    assert doc["program_version"] == "0.9.0-frozen"
    assert doc["tree"] == ROOT_1
    assert doc["sqlite"] == [f"{SOURCE}/state.sqlite"]
    assert doc["skipped"] == [{"path": f"{SOURCE}/gateway.sock", "reason": "socket",
                               "detail": ""}]
    assert doc["rules"] == [f"{SOURCE}: no exclusion rules (not an OpenClaw dir), mode full"]
    assert doc["summary"] == {
        "files_new": 7, "files_changed": 0, "files_unmodified": 0, "dirs": 2, "symlinks": 1,
        "total_files": 7, "total_bytes": 73329, "bytes_read": 73329, "blobs_added": 12,
        "bytes_added_raw": 75108, "bytes_added_stored": 18768, "excluded_entries": 0,
        "duration_s": 0.25}


def test_check_read_data_passes(normal: Path) -> None:
    code, report = check_json(normal, "--read-data")
    assert code == 0, report
    assert report == {
        "ok": True, "packs": 3, "blobs": 19, "snapshots": 2, "trees": 8, "files": 13,
        "bytes_read": 23349, "errors": [], "notes": [], "packs_read": 3,
        "damage": {"summary": None, "blobs": [], "packs_damaged": [], "packs_missing": [],
                   "index_files_damaged": [], "snapshots_damaged": [], "key_files_damaged": [],
                   "damaged_files": 0, "lost_dirs": 0, "affected": [],
                   "unaffected": [SNAP_1, SNAP_2], "repairs": []}}


@pytest.mark.parametrize("snap", [SNAP_1, SNAP_2], ids=["base", "next"])
def test_restore_is_byte_identical(normal: Path, tmp_path: Path, snap: str) -> None:
    target = tmp_path / "target"
    out = sk(normal, "restore", snap, "--target", str(target))
    assert out.code == 0, out.stderr
    assert listing(target) == RESTORED[snap]


def test_the_sqlite_copy_is_a_database(normal: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    assert sk(normal, "restore", "next", "--target", str(target)).code == 0
    con = sqlite3.connect(target / "srv/frozen/state.sqlite")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT name, value FROM secrets ORDER BY name").fetchall() == [
            ("api-key", "sk-frozen-0001"), ("oauth", "token-frozen-0002")]
    finally:
        con.close()


def test_cat_reads_a_file_of_several_chunks(normal: Path) -> None:
    out = sk(normal, "cat", "next", f"{SOURCE}/big.txt")
    assert out.code == 0, out.stderr
    big = RESTORED[SNAP_2]["srv/frozen/big.txt"]
    assert isinstance(big, File)
    assert hashlib.sha256(out.stdout_bytes).hexdigest() == big.sha256


def test_diff_gives_the_recorded_lines(normal: Path) -> None:
    out = sk(normal, "diff", "base", "next", "--json")
    assert out.code == 0, out.stderr
    events = out.json_lines()
    assert [f"{e['marker']}  {e['path']}" for e in events[:-1]] == DIFF
    assert events[-1] == {
        "event": "summary", "from": SNAP_1, "to": SNAP_2, "added": 1, "removed": 1,
        "modified": 3, "type_changed": 1, "metadata": 1, "added_bytes": 22,
        "removed_bytes": 12, "modified_old_bytes": 70056, "modified_new_bytes": 73035}


@pytest.mark.parametrize("snap", [SNAP_1, SNAP_2], ids=["base", "next"])
def test_export_gives_the_recorded_members(normal: Path, tmp_path: Path, snap: str) -> None:
    archive = tmp_path / "out.tar"
    out = sk(normal, "export", snap, "-o", str(archive))
    assert out.code == 0, out.stderr
    with tarfile.open(archive) as tar:
        members = {m.name + ("/" if m.isdir() else ""): m for m in tar.getmembers()}
        assert sorted(members) == sorted(RESTORED[snap])
        for name, want in RESTORED[snap].items():
            m = members[name]
            if isinstance(want, Link):
                assert m.issym() and m.linkname == want.target, name
            elif isinstance(want, File):
                data = tar.extractfile(m)
                assert data is not None
                assert hashlib.sha256(data.read()).hexdigest() == want.sha256, name
                assert (m.mode, m.size) == (want.mode, want.size), name
    verified = sk(normal, "verify-archive", str(archive))
    assert verified.code == 0, (verified.stdout, verified.stderr)


# --------------------------------------------------------------------------- the damaged ones


@dataclass(frozen=True)
class Damaged:
    """What snapkit does with one damaged repository, before and after the repairs.

    ``check`` / ``read_data``: text each error of ``check`` (``--read-data``) must hold, in
    order; empty means that check passes. ``affected``: per snapshot, the paths ``check --json``
    names as lost (files, then directories). ``listed``: what ``snapshots`` lists, past a
    ``warning`` every command prints (one line holding that text). ``restore``: per snapshot,
    the entries its restore cannot write (it writes every other one byte-identical and exits
    1; empty: it restores in full and exits 0), or None when the snapshot cannot be read at
    all (a one-line error holding ``unreadable``). ``repaired``: after ``repair index``,
    ``repair packs``, ``repair snapshots --forget``, per original snapshot, the entries its
    restore — of itself, or of its copy tagged ``repaired`` — lacks; a snapshot not named is
    gone.
    """

    check: tuple[tuple[str, ...], ...] = ()
    read_data: tuple[tuple[str, ...], ...] = ()
    notes: int = 0
    affected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    listed: tuple[str, ...] = (SNAP_1, SNAP_2)
    warning: str | None = None
    restore: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    unreadable: str = ""
    repaired: Mapping[str, frozenset[str]] = field(default_factory=dict)


_NONE: frozenset[str] = frozenset()
_BIG = frozenset({"srv/frozen/big.txt"})
_EVERYTHING = {SNAP_1: _NONE, SNAP_2: _NONE}
_PACK_REPAIRED = {SNAP_1: _BIG, SNAP_2: _BIG}  # big.txt's first chunk is lost to both
_BIG_LOST = {SNAP_1: ("/srv/frozen/big.txt",), SNAP_2: ("/srv/frozen/big.txt",)}
_MISSING_PACK = "pack 8ee10ee7586f524ada4b84de051e00c0 is not in any index but holds"

# Extend, never weaken: each entry is what every later snapkit must do with that archive.
DAMAGED: dict[str, Damaged] = {
    # Snapshot 1's index file is gone: its blobs are unindexed (its root tree too, so it
    # cannot be read at all), and snapshot 2 lacks the chunks it shares with it. The packs are
    # all there: check says so, and `repair index` brings back both snapshots in full.
    "v1-index-missing": Damaged(
        check=((_MISSING_PACK, "1 blob(s) the snapshots need", "repair index"),
               (f"pack {TREE_PACK} is not in any index but holds 3 blob(s)",)),
        read_data=((_MISSING_PACK,), (f"pack {TREE_PACK} is not in any index",)),
        affected={SNAP_1: ("/",), SNAP_2: ("/srv/frozen/big.txt", "/srv/frozen/config.json",
                                           "/srv/frozen/state.sqlite")},
        restore={SNAP_1: None, SNAP_2: frozenset({"srv/frozen/big.txt",
                                                  "srv/frozen/config.json",
                                                  "srv/frozen/state.sqlite"})},
        unreadable=f"blob {ROOT_1} is not in the index",
        repaired=_EVERYTHING,
    ),
    # One bit flipped inside big.txt's first chunk (shared by both snapshots): the structure
    # is intact, so only --read-data finds it; both lose big.txt, and only big.txt.
    "v1-pack-bitflip": Damaged(
        read_data=((f"pack {BIG_PACK} does not match its id", "1 of 3 blobs"),
                   (f"blob {BIG_CHUNK} in pack {BIG_PACK} is damaged",)),
        affected=_BIG_LOST,
        restore={SNAP_1: _BIG, SNAP_2: _BIG},
        repaired=_PACK_REPAIRED,
    ),
    # The pack is cut off inside big.txt's first chunk: its trailer is gone; its three blobs
    # are found cut off even without --read-data (from the pack's size).
    "v1-pack-truncated": Damaged(
        check=((f"pack {BIG_PACK} has no trailer",),
               (f"blob {BIG_CHUNK} in pack {BIG_PACK} is cut off",), ("is cut off",),
               ("is cut off",)),
        read_data=((f"pack {BIG_PACK} does not match its id", "3 of 3 blobs"),
                   (f"blob {BIG_CHUNK} in pack {BIG_PACK} is damaged",), ("is damaged",),
                   ("is damaged",)),
        affected=_BIG_LOST,
        restore={SNAP_1: _BIG, SNAP_2: _BIG},
        repaired=_PACK_REPAIRED,
    ),
    # Snapshot 1's tree of /srv/frozen/sub is damaged (a zstd frame that no longer decodes);
    # snapshot 2 has its own tree there and restores in full. The repaired copy of snapshot 1
    # keeps sub/ as an empty directory.
    "v1-tree-damaged": Damaged(
        check=(("tree at /srv/frozen/sub (snapshot 7bf6b0d0)", f"pack {TREE_PACK}",
                "damaged zstd blob"),),
        read_data=((f"pack {TREE_PACK} does not match its id", "1 of 9 blobs"),
                   (f"in pack {TREE_PACK} is damaged", "damaged zstd blob")),
        affected={SNAP_1: ("/srv/frozen/sub",)},
        restore={SNAP_1: frozenset({"srv/frozen/sub/", "srv/frozen/sub/deep.txt"}),
                 SNAP_2: _NONE},
        repaired={SNAP_1: frozenset({"srv/frozen/sub/deep.txt"}), SNAP_2: _NONE},
    ),
    # Snapshot 1's manifest no longer hashes to its name: it is skipped with a warning by
    # every command; snapshot 2 lists and restores; `repair snapshots --forget` removes it.
    "v1-manifest-damaged": Damaged(
        check=((f"snapshot manifest {SNAP_1} does not match its id", "repair snapshots"),),
        read_data=((f"snapshot manifest {SNAP_1} does not match its id",),),
        listed=(SNAP_2,),
        warning=f"snapshot manifest {SNAP_1} does not match its id",
        restore={SNAP_1: None, SNAP_2: _NONE},
        unreadable=f"snapshot manifest {SNAP_1} does not match its id",
        repaired={SNAP_2: _NONE},
    ),
    # Snapshot 2's index file holds bytes that are not msgpack: it is skipped with a warning;
    # snapshot 1 restores in full, snapshot 2's root tree was only listed there.
    "v1-index-corrupt": Damaged(
        check=((f"index file {INDEX_2} is damaged", "repair index"),
               ("is not in any index but holds 1 blob(s) the snapshots need",)),
        read_data=((f"index file {INDEX_2} is damaged",), ("is not in any index",)),
        affected={SNAP_2: ("/",)},
        warning=f"index file {INDEX_2} is damaged",
        restore={SNAP_1: _NONE, SNAP_2: None},
        unreadable="is not in the index",
        repaired=_EVERYTHING,
    ),
    # The pack holding big.txt's first chunks is deleted: both snapshots lose big.txt.
    "v1-pack-deleted": Damaged(
        check=((f"pack {BIG_PACK} is in the index but missing (3 blobs lost)",),),
        read_data=((f"pack {BIG_PACK} is in the index but missing (3 blobs lost)",),),
        affected=_BIG_LOST,
        restore={SNAP_1: _BIG, SNAP_2: _BIG},
        repaired=_PACK_REPAIRED,
    ),
}


def test_every_damaged_archive_is_described() -> None:
    assert {*DAMAGED, "v1-normal"} == set(ARCHIVES)
    on_disk = {p.name.removesuffix(".tar.gz") for p in REPOS.glob("v1-*.tar.gz")}
    assert on_disk == set(ARCHIVES)  # (v2-encrypted: test_frozen_encrypted.py)


def _assert_errors(errors: object, want: tuple[tuple[str, ...], ...]) -> None:
    assert isinstance(errors, list)
    assert len(errors) == len(want), errors
    for error, needles in zip(errors, want, strict=True):
        for needle in needles:
            assert needle in error, (needle, error)


@pytest.mark.parametrize("name", sorted(DAMAGED))
@pytest.mark.parametrize("read_data", [False, True], ids=["check", "read-data"])
def test_check_names_the_damage(tmp_path: Path, name: str, read_data: bool) -> None:
    repo = unpack(name, tmp_path)
    damaged = DAMAGED[name]
    out = sk(repo, "check", "--json", *(["--read-data"] if read_data else []))
    want = damaged.read_data if read_data else damaged.check
    report = out.json()
    assert out.code == (1 if want else 0), (out.code, report)
    assert report["ok"] is not bool(want)
    _assert_errors(report["errors"], want)
    assert len(report["notes"]) == damaged.notes, report["notes"]
    if want:
        named = {a["id"]: (*a["files"], *a["dirs"]) for a in report["damage"]["affected"]}
        assert named == damaged.affected
        assert set(report["damage"]["unaffected"]) == set(damaged.listed) - set(named)


def _warned(out: CliResult, warning: str | None) -> list[str]:
    """The lines of stderr after the one warning every command prints (if any)."""
    lines = out.stderr.strip().splitlines()
    if warning is None:
        assert not any(line.startswith("snapkit: warning:") for line in lines), out.stderr
        return lines
    assert lines and lines[0].startswith("snapkit: warning:") and warning in lines[0]
    return lines[1:]


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_what_the_other_commands_do(tmp_path: Path, name: str) -> None:
    repo = unpack(name, tmp_path)
    damaged = DAMAGED[name]
    listed = sk(repo, "snapshots", "--json")
    assert listed.code == 0, listed.stderr
    assert [r["id"] for r in listed.json()] == list(damaged.listed)
    # `snapshots` reads the manifests only: it warns of a damaged manifest, not of a damaged
    # index file (the index is read, and its damage told, by the commands that use it).
    index_only = damaged.warning is not None and damaged.warning.startswith("index file")
    _warned(listed, None if index_only else damaged.warning)
    for snap in (SNAP_1, SNAP_2):
        target = tmp_path / f"restore-{snap[:8]}"
        out = sk(repo, "restore", snap, "--target", str(target))
        lost = damaged.restore[snap]
        rest = _warned(out, damaged.warning)
        if lost is None:
            assert out.code == 1, out.stderr
            assert len(rest) == 1 and rest[0].startswith("snapkit: error:"), out.stderr
            assert damaged.unreadable in rest[0]
            assert not target.exists() or listing(target) == {}
            continue
        want = {k: v for k, v in RESTORED[snap].items() if k not in lost}
        assert listing(target) == want  # every intact entry, byte-identical; nothing else
        assert out.code == (1 if lost else 0), out.stderr
        # One line per file not written, or per directory whose listing is lost (not for
        # what was below it), each naming where it would have gone.
        failed = [line for line in rest if line.startswith("snapkit: could not restore ")]
        named = {k for k in lost if not any(d != k and d.endswith("/") and k.startswith(d)
                                            for d in lost)}
        assert len(failed) == len(named), rest
        for k in named:
            assert any(f"{target}/{k.rstrip('/')}:" in line for line in failed), (k, failed)


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_the_repairs_bring_it_back(tmp_path: Path, name: str) -> None:
    """``repair index``, ``repair packs``, ``repair snapshots --forget``: then check passes,
    and every snapshot restores what was not lost, byte-identical."""
    repo = unpack(name, tmp_path)
    damaged = DAMAGED[name]
    for args in (("repair", "index"), ("repair", "packs"), ("repair", "snapshots", "--forget")):
        out = sk(repo, *args)
        assert out.code == 0, (args, out.stdout, out.stderr)
    check = sk(repo, "check", "--read-data")
    assert check.code == 0, check.stdout
    now = Repository.open(repo).snapshots()
    assert len(now) == len(damaged.repaired)
    for original, lost in damaged.repaired.items():
        ids = [sid for sid, snap in now if sid == original or any(
            w.startswith(f"repaired from snapshot {original}") for w in snap.warnings)]
        assert len(ids) == 1, (original, [s for s, _ in now])
        assert (ids[0] == original) is (not lost)  # a copy exactly where something was lost
        if ids[0] != original:
            assert "repaired" in dict(now)[ids[0]].tags
        target = tmp_path / f"after-{original[:8]}"
        out = sk(repo, "restore", ids[0], "--target", str(target))
        assert out.code == 0, out.stderr
        want = {k: v for k, v in RESTORED[original].items() if k not in lost}
        got = listing(target)
        assert got == want
