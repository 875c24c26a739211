"""Write the frozen v1 repositories of ``tests/format/repos/`` (run once; the output is checked in).

    python tests/format/make_frozen.py [OUTDIR]      # default: tests/format/repos

``v1-normal.tar.gz`` holds two snapshots of one small tree, ``/srv/frozen``, written by this
snapkit's own writers (``BlobSaver``: codecs, packs, index files; ``save_snapshot``: the
manifest) as ``snapkit snap`` writes them, but with every value a real walk would take from the
machine fixed here — times, host, user, owners, inodes — so the output is the same bytes on
every run. Snapshot 1 (tag ``base``): a text file, a JSON config, a 70 KB file of two chunks
(zstd), an empty file, a file in a subdirectory, a recorded symlink, a SQLite database stored as
a consistent copy, and a socket that was skipped. Snapshot 2 (tag ``next``, parent snapshot 1) is
incremental: unchanged files keep their chunks, ``big.txt`` grows (its first chunk is shared),
one file is edited, one removed, one added, one changes type, one changes only its mode, and the
symlink points elsewhere.

Every other archive is that repository with one deliberate piece of damage (``DAMAGES``).
``tests/format/test_frozen.py`` records what each holds and what snapkit does with it.

Never regenerate these to make a test pass: they are what version 1 of the format *is*. A
reader change that breaks them breaks every user's existing repository.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import sqlite3
import struct
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snapkit.capture.chunker import Chunker
from snapkit.format.model import (
    KIND_TREE,
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    Node,
    NodeType,
    Skipped,
    Snapshot,
    Summary,
    Tree,
    content_id,
    decode_index,
    sort_nodes,
)
from snapkit.store.backend import LocalBackend
from snapkit.store.repository import RepoConfig, Repository
from snapkit.store.saver import BlobSaver

SOURCE = "/srv/frozen"
HOST = "frozen-host"
USER = "frozen"
UID = GID = 1000
REPO_ID = "f20e2e0f20e2e0f20e2e0f20e2e0f201"
CREATED = "2026-01-10T09:00:00+0000"
PROGRAM_VERSION = "0.9.0-frozen"
PACK_SIZE = 16 * 1024  # small, so a snapshot spans several packs (config key pack_size)
T1 = 1_768_037_400_000_000_000  # 2026-01-10T09:30:00Z
T2 = T1 + 86_400_000_000_000  # a day later
RULES = (f"{SOURCE}: no exclusion rules (not an OpenClaw dir), mode full",)


@dataclass(frozen=True)
class F:
    """A regular file: content, permission bits, mtime (ns)."""

    content: bytes
    mode: int = 0o644
    mtime: int = T1 - 3_600_000_000_000
    ctime: int | None = None  # None: the mtime


@dataclass(frozen=True)
class L:
    target: str
    mtime: int = T1 - 3_600_000_000_000


@dataclass(frozen=True)
class D:
    mode: int = 0o755
    mtime: int = T1 - 3_600_000_000_000


Entry = F | L | D


def _text(seed: int, size: int) -> bytes:
    """Deterministic log-like text that zstd compresses well and FastCDC cuts in two."""
    rng = random.Random(seed)
    words = [rng.randbytes(3).hex() for _ in range(40)]
    lines: list[str] = []
    total = i = 0
    while total < size:
        line = f"{i:05d} " + " ".join(rng.choice(words) for _ in range(8)) + "\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines).encode()[:size]


def _sqlite_db() -> bytes:
    """A small SQLite database, as the consistent copy ``snap`` stores. The header's
    "SQLITE_VERSION_NUMBER" (offset 96) is pinned so the bytes do not depend on the library."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "state.sqlite")
        con = sqlite3.connect(path)
        con.execute("PRAGMA page_size = 1024")
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.executemany("INSERT INTO secrets VALUES (?, ?)",
                        [("api-key", "sk-frozen-0001"), ("oauth", "token-frozen-0002")])
        con.commit()
        con.close()
        data = bytearray(Path(path).read_bytes())
    data[96:100] = struct.pack(">I", 3_045_000)
    return bytes(data)


BIG = _text(2026, 70_000)
CONFIG = (b'{\n  "gateway": {"port": 18789, "bind": "loopback"},\n'
          b'  "agents": {"defaults": {"model": "frozen/model-1"}},\n'
          b'  "padding": "' + b"x" * 64 + b'"\n}\n')
DB = _sqlite_db()

TREE_1: dict[str, Entry] = {
    "": D(),
    "notes.txt": F(b"frozen notes, version one\n"),
    "config.json": F(CONFIG, mode=0o600),
    "big.txt": F(BIG),
    "empty": F(b""),
    "kind": F(b"a file that becomes a symlink\n"),
    "link": L("notes.txt"),
    "state.sqlite": F(DB, mode=0o600),
    "sub": D(mode=0o700),
    "sub/deep.txt": F(b"deep inside\n", mode=0o640),
}

LATER = T2 - 3_600_000_000_000
TREE_2: dict[str, Entry] = {
    **TREE_1,
    "": D(mtime=LATER),
    "notes.txt": F(b"frozen notes, version two (edited)\n", mtime=LATER),
    "config.json": F(CONFIG, mode=0o644, ctime=LATER),  # chmod: metadata only
    "big.txt": F(BIG + _text(7, 3000), mtime=LATER),
    "kind": L("sub/new.txt", mtime=LATER),
    "link": L("sub/new.txt", mtime=LATER),
    "sub": D(mode=0o700, mtime=LATER),
    "sub/new.txt": F(b"added in snapshot two\n", mtime=LATER),
}
del TREE_2["sub/deep.txt"]

SKIPPED_1 = (Skipped(f"{SOURCE}/gateway.sock", "socket", ""),)


class _Writer:
    """Builds one snapshot's trees from a spec, the way ``snapshot._Builder`` does."""

    def __init__(self, repo: Repository, saver: BlobSaver, parent: Snapshot | None) -> None:
        self.repo = repo
        self.saver = saver
        self.chunker = Chunker(repo.config.chunker)
        self.parent = parent
        self.new = self.changed = self.unmodified = self.dirs = self.symlinks = 0
        self.total = self.read = 0

    def _meta(self, rel: str, ntype: NodeType, mode: int, mtime: int, ctime: int | None = None,
              **extra: object) -> Node:
        inode = 4096 + sorted({*TREE_1, *TREE_2}).index(rel)
        name = os.path.basename(rel) if rel else os.path.basename(SOURCE)
        return Node(name=name, type=ntype, mode=mode, mtime_ns=mtime,
                    ctime_ns=mtime if ctime is None else ctime,
                    inode=inode, uid=UID, gid=GID, user=USER, group=USER,
                    **extra)  # type: ignore[arg-type]

    def _old(self, rel: str) -> Node | None:
        if self.parent is None:
            return None
        node = Node("", NODE_DIR, 0, 0, subtree=self.parent.tree)
        for part in (*SOURCE.strip("/").split("/"), *(rel.split("/") if rel else ())):
            if node.type != NODE_DIR or not node.subtree:
                return None
            found = self.repo.load_tree(node.subtree).by_name().get(part)
            if found is None:
                return None
            node = found
        return node

    def _file(self, rel: str, f: F) -> Node:
        old = self._old(rel)
        content = tuple(self.saver.save_data(chunk)
                        for chunk in self.chunker.chunks(io.BytesIO(f.content), len(f.content)))
        node = self._meta(rel, NODE_FILE, f.mode, f.mtime, f.ctime, size=len(f.content),
                          content=content, hash=content_id(f.content))
        self.total += len(f.content)
        cached = (old is not None and old.type == NODE_FILE and (
            old.size, old.mtime_ns, old.ctime_ns, old.inode) == (
            node.size, node.mtime_ns, node.ctime_ns, node.inode))
        if cached:
            self.unmodified += 1  # the files cache: not read
            return node
        self.read += len(f.content)  # as snapshot._Builder._file counts
        if old is None or old.type != NODE_FILE:
            self.new += 1
        elif old.content == content and (old.mode, old.mtime_ns) == (node.mode, node.mtime_ns):
            self.unmodified += 1
        else:
            self.changed += 1
        return node

    def build(self, spec: dict[str, Entry], rel: str = "") -> Node:
        entry = spec[rel]
        assert isinstance(entry, D)
        children: list[Node] = []
        prefix = f"{rel}/" if rel else ""
        for path in sorted(p for p in spec if p and p.startswith(prefix)
                           and "/" not in p[len(prefix):]):
            item = spec[path]
            if isinstance(item, D):
                children.append(self.build(spec, path))
            elif isinstance(item, L):
                self.symlinks += 1
                children.append(self._meta(path, NODE_SYMLINK, 0o777, item.mtime,
                                           target=item.target))
            else:
                children.append(self._file(path, item))
        self.dirs += 1
        subtree = self.saver.save_tree(Tree(sort_nodes(children)))
        return self._meta(rel, NODE_DIR, entry.mode, entry.mtime, subtree=subtree)

    def root(self, top: Node) -> str:
        """The root tree: the components of SOURCE down to it, each with fixed metadata."""
        node = top
        for name in reversed(SOURCE.strip("/").split("/")[:-1]):
            subtree = self.saver.save_tree(Tree((node,)))
            node = Node(name, NODE_DIR, 0o755, T1 - 86_400_000_000_000,
                        ctime_ns=T1 - 86_400_000_000_000, inode=2 + len(name), subtree=subtree)
        return self.saver.save_tree(Tree((node,)))


def _snapshot(repo: Repository, spec: dict[str, Entry], when: int, tag: str,
              parent: tuple[str, Snapshot] | None, skipped: tuple[Skipped, ...]) -> str:
    with repo.saver(workers=1) as saver:  # one worker: blobs land in packs in a fixed order
        w = _Writer(repo, saver, parent[1] if parent else None)
        root = w.root(w.build(spec))
        saver.flush()
        summary = Summary(
            files_new=w.new, files_changed=w.changed, files_unmodified=w.unmodified,
            dirs=w.dirs, symlinks=w.symlinks,
            total_files=w.new + w.changed + w.unmodified, total_bytes=w.total,
            bytes_read=w.read, blobs_added=saver.blobs_added,
            bytes_added_raw=saver.bytes_added_raw, bytes_added_stored=saver.bytes_added_stored,
            excluded_entries=0, duration_s=0.25,
        )
    snap = Snapshot(
        time_ns=when, hostname=HOST, username=USER, sources=(SOURCE,), tree=root,
        parent=parent[0] if parent else None, tags=(tag,), mode="full",
        program_version=PROGRAM_VERSION, summary=summary, skipped=skipped, warnings=(),
        rules=RULES, service={}, sqlite=(f"{SOURCE}/state.sqlite",),
    )
    return repo.save_snapshot(snap)


def build_normal(path: Path) -> None:
    Repository.init(path)
    config = RepoConfig(id=REPO_ID, created=CREATED, pack_size=PACK_SIZE)
    LocalBackend(path).save("config", "config", config.to_json())
    repo = Repository.open(path)
    first = _snapshot(repo, TREE_1, T1, "base", None, SKIPPED_1)
    _snapshot(repo, TREE_2, T2, "next", (first, repo.load_snapshot(first)), ())


# --------------------------------------------------------------------------- damage


def _pack_path(path: Path, pack: str) -> Path:
    return path / "packs" / pack[:2] / pack


def _first_snapshot_blobs(path: Path) -> set[str]:
    repo = Repository.open(path)
    snaps = repo.snapshots()
    tree = snaps[0][1].tree
    seen: set[str] = set()
    stack = [tree]
    while stack:
        tid = stack.pop()
        seen.add(tid)
        for n in repo.load_tree(tid).nodes:
            if n.subtree:
                stack.append(n.subtree)
            seen.update(n.content)
    return seen


def _flip(file: Path, offset: int) -> None:
    data = bytearray(file.read_bytes())
    data[offset] ^= 0x01
    file.write_bytes(bytes(data))


def _big_first_chunk(path: Path) -> tuple[str, int, int]:
    """(pack, offset, length) of big.txt's first chunk (shared by both snapshots)."""
    repo = Repository.open(path)
    node = Node("", NODE_DIR, 0, 0, subtree=repo.snapshots()[0][1].tree)
    for part in (*SOURCE.strip("/").split("/"), "big.txt"):
        assert node.subtree
        node = repo.load_tree(node.subtree).by_name()[part]
    e = repo.index.get(node.content[0])
    assert e is not None
    return e.pack, e.offset, e.length


def damage_index_missing(path: Path) -> None:
    """Remove the index file written by snapshot 1's run."""
    first = _first_snapshot_blobs(path)
    for f in sorted((path / "index").iterdir()):
        if any(e.id in first for e in decode_index(f.read_bytes(), f.name)):
            f.unlink()
            return
    raise AssertionError("no index file lists snapshot 1's blobs")


def damage_pack_bitflip(path: Path) -> None:
    """Flip one bit in the middle of big.txt's first chunk (zstd payload)."""
    pack, offset, length = _big_first_chunk(path)
    _flip(_pack_path(path, pack), offset + length // 2)


def damage_pack_truncated(path: Path) -> None:
    """Cut the pack holding big.txt's first chunk off in the middle of that chunk."""
    pack, offset, length = _big_first_chunk(path)
    file = _pack_path(path, pack)
    file.write_bytes(file.read_bytes()[: offset + length // 2])


def damage_tree(path: Path) -> None:
    """Flip one bit in the stored bytes of snapshot 1's tree of /srv/frozen/sub."""
    repo = Repository.open(path)
    node = Node("", NODE_DIR, 0, 0, subtree=repo.snapshots()[0][1].tree)
    for part in (*SOURCE.strip("/").split("/"), "sub"):
        assert node.subtree
        node = repo.load_tree(node.subtree).by_name()[part]
    assert node.subtree
    e = repo.index.get(node.subtree)
    assert e is not None and e.kind == KIND_TREE
    _flip(_pack_path(path, e.pack), e.offset + e.length - 3)


def damage_manifest(path: Path) -> None:
    """Flip one bit inside the host name of snapshot 1's manifest."""
    repo = Repository.open(path)
    sid = repo.snapshots()[0][0]
    file = path / "snapshots" / sid
    _flip(file, file.read_bytes().index(HOST.encode()))


def damage_index_corrupt(path: Path) -> None:
    """Overwrite the middle of snapshot 2's index file with bytes that are not msgpack."""
    first = _first_snapshot_blobs(path)
    for f in sorted((path / "index").iterdir()):
        if not any(e.id in first for e in decode_index(f.read_bytes(), f.name)):
            data = f.read_bytes()
            f.write_bytes(data[:3] + b"\xc1" * 8 + data[11:])
            return
    raise AssertionError("no index file of snapshot 2 alone")


def damage_pack_deleted(path: Path) -> None:
    """Delete the pack holding big.txt's first chunk."""
    pack, _offset, _length = _big_first_chunk(path)
    _pack_path(path, pack).unlink()


DAMAGES: dict[str, Callable[[Path], None]] = {
    "v1-index-missing": damage_index_missing,
    "v1-pack-bitflip": damage_pack_bitflip,
    "v1-pack-truncated": damage_pack_truncated,
    "v1-tree-damaged": damage_tree,
    "v1-manifest-damaged": damage_manifest,
    "v1-index-corrupt": damage_index_corrupt,
    "v1-pack-deleted": damage_pack_deleted,
}


# --------------------------------------------------------------------------- archives


def write_archive(repo: Path, out: Path) -> None:
    """A byte-stable tar.gz of ``repo`` under the top directory ``repo/``: sorted names, fixed
    owners, times and modes (0700 dirs, 0600 files, as snapkit creates them), gzip mtime 0."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = sorted(repo.rglob("*"))
        for p in [repo, *paths]:
            name = "repo" if p == repo else f"repo/{p.relative_to(repo).as_posix()}"
            info = tarfile.TarInfo(name)
            info.mtime = T2 // 1_000_000_000
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if p.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o700
                tar.addfile(info)
            else:
                data = p.read_bytes()
                info.mode, info.size = 0o600, len(data)
                tar.addfile(info, io.BytesIO(data))
    with open(out, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0,
                                             filename="", compresslevel=9) as gz:
        gz.write(buf.getvalue())


def main(argv: list[str]) -> None:
    outdir = Path(argv[0]) if argv else Path(__file__).resolve().parent / "repos"
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        normal = Path(tmp) / "v1-normal"
        build_normal(normal)
        for lock in (normal / "locks").iterdir():  # none is left, but never freeze one
            lock.unlink()
        write_archive(normal, outdir / "v1-normal.tar.gz")
        for name, damage in DAMAGES.items():
            copy = Path(tmp) / name
            shutil.copytree(normal, copy)
            damage(copy)
            write_archive(copy, outdir / f"{name}.tar.gz")
    for p in sorted(outdir.glob("*.tar.gz")):
        print(f"{p.stat().st_size:>8}  {p}")


if __name__ == "__main__":
    main(sys.argv[1:])
