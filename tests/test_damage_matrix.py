"""The damage matrix (issue 13): every kind of stored object × every kind of damage.

One repository is built once (``world``): three snapshots of a source ``a`` (the second and
third incremental, sharing chunks and a subtree with the first) and one of a separate source
``b``. Each case copies it, damages one object — a data pack, a tree blob, an index file, a
snapshot manifest, the config, a lock file — in one way (a flipped byte, truncation,
deletion, zero-fill, valid msgpack/JSON that is the wrong thing), and proves through the
command line, as a user would meet it:

1. ``check --read-data`` exits 1 and names the damaged object, every affected snapshot and
   every lost file (or the directory whose tree is lost) — or exits 0 when nothing is lost;
2. every unaffected snapshot restores byte-identical with no manual step, and an affected one
   restores exactly its intact files (never a wrong byte) and exits 1;
3. ``repair config``, ``repair index``, ``repair packs``, ``repair snapshots --forget`` bring
   the repository back to ``check --read-data`` passing;
4. the next ``snap`` of the live sources restores every file on disk byte-identical.

Which snapshots and files a damage costs is worked out here independently of snapkit's
reader (``Oracle``): from the objects recorded before the damage, by reading the pack bytes,
decoding them and hashing them directly. ``docs/reliability.md`` lists the matrix.

In the encrypted test mode (``SNAPKIT_TEST_ENCRYPTED=1``) the same damage is done to sealed
objects: the damaging and the oracle open and seal them with the repository's key (a blob
is then checked by opening it under its id and its keyed id), and the "wrong" objects are
sealed with it, as valid objects that are the wrong thing.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgpack
import pytest
import xxhash
import zstandard
from helpers import CliResult, env_for, invoke_main, make_tree, plant_lock, restored

from snapkit.format.crypto import OVERHEAD
from snapkit.format.errors import IntegrityError
from snapkit.format.model import KIND_TREE, NODE_DIR, NODE_FILE, BlobEntry
from snapkit.read.treewalk import iter_tree
from snapkit.store.cipher import CODEC_SEALED, Cipher, Sealed
from snapkit.store.repository import Repository

KINDS = ("data-pack", "tree-blob", "index-file", "manifest", "config", "lock")
DAMAGES = ("flip", "truncate", "delete", "zero-fill", "wrong-msgpack")
REPAIRS = (("repair", "config"), ("repair", "index"), ("repair", "packs"),
           ("repair", "snapshots", "--forget"))


# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class FileRecord:
    """One file of a snapshot: its path, content, chunks and the trees above it."""

    path: str  # absolute, as stored
    content: bytes
    chunks: tuple[str, ...]
    trees: tuple[str, ...]  # the tree objects from the root down to its directory


@dataclass(frozen=True)
class World:
    base: Path  # holds repo/ (the template), src-a/, src-b/
    snaps: dict[str, str]  # "a1", "a2", "a3", "b1" -> snapshot id
    files: dict[str, tuple[FileRecord, ...]]  # snapshot id -> its files
    dirs: dict[str, dict[str, str]]  # snapshot id -> directory path -> its tree id
    entries: dict[str, BlobEntry]  # the index before any damage
    run_index: dict[str, str]  # "a1" ... -> the index file that snapshot's run wrote
    cipher: Cipher  # the repository's (sealed in the encrypted test mode)


def _snap(base: Path, source: Path) -> tuple[str, str]:
    """Snapshot ``source`` through the CLI; return (snapshot id, index file it added)."""
    before = set(os.listdir(base / "repo" / "index")) if (base / "repo").exists() else set()
    out = invoke_main(["snap", "-q", str(source)], env_for(base))
    assert out.code == 0, out.stderr
    added = set(os.listdir(base / "repo" / "index")) - before
    assert len(added) == 1, added
    return out.stdout.strip(), added.pop()


def _records(repo: Repository, sid: str) -> tuple[tuple[FileRecord, ...], dict[str, str]]:
    snap = repo.load_snapshot(sid)
    files: list[FileRecord] = []
    dirs: dict[str, str] = {"/": snap.tree}
    chain: list[str] = [snap.tree]
    for parts, node, leaving in iter_tree(repo.load_tree, snap.tree):
        path = "/" + "/".join(parts)
        if node.type == NODE_DIR:
            if leaving:
                chain.pop()
            else:
                assert node.subtree is not None
                dirs[path] = node.subtree
                chain.append(node.subtree)
        elif node.type == NODE_FILE and not leaving:
            content = b"".join(repo.read_blobs(node.content))
            files.append(FileRecord(path, content, tuple(node.content), tuple(chain)))
    return tuple(files), dirs


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("matrix")
    rng = random.Random(13)
    big = rng.randbytes(400_000)
    a = make_tree(base / "src-a", {
        "big.bin": big,
        "notes/today.md": b"# today\n" * 40,
        "notes/ideas.md": b"- an idea\n" * 30,
        "sub/config.json": b'{"model": "x", "n": 1}\n' * 20,
        "sub/deeper/state.txt": rng.randbytes(3000),
    })
    b = make_tree(base / "src-b", {
        "only-b.txt": b"b\n" * 500,
        "dir/data.bin": rng.randbytes(50_000),
    })
    snaps: dict[str, str] = {}
    run_index: dict[str, str] = {}
    snaps["a1"], run_index["a1"] = _snap(base, a)
    (a / "notes" / "today.md").write_bytes(b"# today, later\n" * 40)
    with open(a / "big.bin", "ab") as f:
        f.write(rng.randbytes(50_000))  # the first chunks stay shared with a1
    snaps["a2"], run_index["a2"] = _snap(base, a)
    (a / "notes" / "new.md").write_bytes(b"new\n" * 100)
    snaps["a3"], run_index["a3"] = _snap(base, a)
    snaps["b1"], run_index["b1"] = _snap(base, b)
    repo = Repository.open(base / "repo")
    files: dict[str, tuple[FileRecord, ...]] = {}
    dirs: dict[str, dict[str, str]] = {}
    for sid in snaps.values():
        files[sid], dirs[sid] = _records(repo, sid)
    entries = {e.id: e for e in repo.index}
    sub = str(a / "sub")
    assert len({dirs[snaps[n]][sub] for n in ("a1", "a2", "a3")}) == 1  # one shared subtree
    return World(base, snaps, files, dirs, entries, run_index, repo.cipher)


# --------------------------------------------------------------------------- damaging


def _pack_path(repo: Path, pack: str) -> Path:
    return repo / "packs" / pack[:2] / pack


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _zero(path: Path, start: int, end: int) -> None:
    data = bytearray(path.read_bytes())
    data[start:end] = bytes(end - start)
    path.write_bytes(bytes(data))


def _truncate(path: Path, at: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(at)


def _wrong_trailer(path: Path, cipher: Cipher) -> None:
    """The pack's trailer replaced by valid msgpack that lists every blob one byte off."""
    data = path.read_bytes()
    length = int.from_bytes(data[-12:-8], "little")
    trailer = msgpack.unpackb(cipher.open(data[-12 - length:-12], "trailer", "trailer"))
    wrong = cipher.seal(msgpack.packb([[k, i, o + 1, n, r] for k, i, o, n, r in trailer]),
                        "trailer")
    path.write_bytes(data[:-12 - length] + wrong + len(wrong).to_bytes(4, "little") + data[-8:])


def _blob_damage(repo: Path, entry: BlobEntry, damage: str, cipher: Cipher) -> None:
    """Damage one blob where it is stored (``delete``: its index entry goes instead)."""
    pack = _pack_path(repo, entry.pack)
    if damage == "flip":
        _flip(pack, entry.offset + entry.length // 2)
    elif damage == "zero-fill":
        _zero(pack, entry.offset, entry.offset + entry.length)
    elif damage == "truncate":
        _truncate(pack, entry.offset + entry.length // 2)
    elif damage == "wrong-msgpack":  # same length: a raw blob holding another valid tree
        other = msgpack.packb({"v": 1, "nodes": []})
        if isinstance(cipher, Sealed):  # sealed as the blob of another id (an empty one's)
            pad = b"\x90" * (entry.length - 2 - OVERHEAD - len(other))
            stored = bytes((CODEC_SEALED,)) + cipher.key.seal(
                b"\x00" + other + pad, "blob", bytes.fromhex(cipher.content_id(b"")))
        else:
            stored = b"\x00" + other + b"\x90" * (entry.length - 1 - len(other))
        assert len(stored) == entry.length
        data = pack.read_bytes()
        pack.write_bytes(data[:entry.offset] + stored + data[entry.offset + entry.length:])
    else:  # delete: the index no longer lists it (its bytes are still in the pack)
        for name in os.listdir(repo / "index"):
            doc = msgpack.unpackb(cipher.open((repo / "index" / name).read_bytes(), "index",
                                              name))
            kept = [{"id": p["id"], "blobs": [b for b in p["blobs"] if b[1].hex() != entry.id]}
                    for p in doc["packs"]]
            if kept != doc["packs"]:
                data = cipher.seal(msgpack.packb({"v": 1, "packs": kept}), "index")
                os.remove(repo / "index" / name)
                (repo / "index" / xxhash.xxh3_128(data).hexdigest()).write_bytes(data)


def _file_damage(path: Path, damage: str, wrong: bytes) -> None:
    """Damage one whole file; ``wrong`` is what ``wrong-msgpack`` writes in its place."""
    size = path.stat().st_size
    if damage == "flip":
        _flip(path, size // 2)
    elif damage == "truncate":
        _truncate(path, size // 2)
    elif damage == "delete":
        path.unlink()
    elif damage == "zero-fill":
        _zero(path, 0, size)
    else:
        path.write_bytes(wrong)


def damage(world: World, repo: Path, kind: str, how: str) -> tuple[str, ...]:
    """Damage one object of ``kind`` in ``repo``; return the names check may give it (one of
    them must appear)."""
    a1 = world.snaps["a1"]
    cipher = world.cipher
    if kind == "data-pack":
        big = next(f for f in world.files[a1] if f.path.endswith("/big.bin"))
        entry = world.entries[big.chunks[0]]
        if how == "wrong-msgpack":
            _wrong_trailer(_pack_path(repo, entry.pack), cipher)
        elif how == "delete":
            _pack_path(repo, entry.pack).unlink()
        elif how == "zero-fill":
            pack = _pack_path(repo, entry.pack)
            _zero(pack, 0, pack.stat().st_size)
        else:
            _blob_damage(repo, entry, how, cipher)
        return (entry.pack,)
    if kind == "tree-blob":
        tree = world.dirs[a1][str(world.base / "src-a" / "sub")]
        entry = world.entries[tree]
        assert entry.kind == KIND_TREE
        _blob_damage(repo, entry, how, cipher)
        return (tree, entry.pack)
    if kind == "index-file":
        name = world.run_index["a1"]
        doc = msgpack.unpackb(cipher.open((repo / "index" / name).read_bytes(), "index", name))
        packs = tuple(p["id"].hex() for p in doc["packs"])  # what a deleted file leaves to name
        _file_damage(repo / "index" / name, how,
                     cipher.seal(msgpack.packb({"v": 1, "packs": []}), "index"))
        return (name, *packs)
    if kind == "manifest":
        _file_damage(repo / "snapshots" / a1, how,
                     cipher.seal(msgpack.packb({"v": 1, "tree": "x"}), "snapshot"))
        return (a1,)
    if kind == "config":
        wrong = json.dumps({"format": "snapkit-repository", "version": 1}).encode()
        _file_damage(repo / "config", how, wrong)
        return ("config",)
    name = plant_lock(repo, 4242, exclusive=True, started=1_000_000.0, operation="prune",
                      host="gone.example")  # a stale lock of a crashed run on another host
    _file_damage(repo / "locks" / name, how, cipher.seal(msgpack.packb([1, 2, 3]), "lock"))
    return (name,)


# --------------------------------------------------------------------------- the oracle


class Oracle:
    """What a damaged repository still holds, found without snapkit's reader."""

    def __init__(self, world: World, repo: Path) -> None:
        self.world = world
        self.repo = repo
        self.listed = self._listed()
        self._ok: dict[str, bool] = {}

    def _listed(self) -> dict[str, list[tuple[str, int, int, int]]]:
        out: dict[str, list[tuple[str, int, int, int]]] = {}
        for name in os.listdir(self.repo / "index"):
            data = (self.repo / "index" / name).read_bytes()
            if xxhash.xxh3_128(data).hexdigest() != name:
                continue
            try:
                doc = msgpack.unpackb(self.world.cipher.open(data, "index", name))
                for p in doc["packs"]:
                    for _k, i, o, n, r in p["blobs"]:
                        out.setdefault(i.hex(), []).append((p["id"].hex(), o, n, r))
            except (ValueError, KeyError, TypeError, IntegrityError):
                continue
        return out

    def blob_ok(self, blob: str) -> bool:
        if blob not in self._ok:
            self._ok[blob] = any(self._copy_ok(blob, *c) for c in self.listed.get(blob, ()))
        return self._ok[blob]

    def _copy_ok(self, blob: str, pack: str, offset: int, length: int, raw: int) -> bool:
        path = _pack_path(self.repo, pack)
        if not path.exists():
            return False
        with open(path, "rb") as f:
            f.seek(offset)
            stored = f.read(length)
        if len(stored) != length or not stored:
            return False
        cipher = self.world.cipher
        if isinstance(cipher, Sealed):  # opens under its id only, then as a plain blob
            if stored[0] != CODEC_SEALED:
                return False
            try:
                stored = cipher.key.open(stored[1:], "blob", blob, bytes.fromhex(blob))
            except IntegrityError:
                return False
        try:
            plain = (stored[1:] if stored[0] == 0 else
                     zstandard.ZstdDecompressor().decompress(stored[1:], max_output_size=raw)
                     if stored[0] == 1 else b"\x00bad codec")
        except zstandard.ZstdError:
            return False
        if isinstance(cipher, Sealed):
            return cipher.key.content_id(plain) == blob
        return xxhash.xxh3_128(plain).hexdigest() == blob

    def manifest_ok(self, sid: str) -> bool:
        path = self.repo / "snapshots" / sid
        return path.exists() and xxhash.xxh3_128(path.read_bytes()).hexdigest() == sid

    def intact(self, sid: str) -> list[FileRecord]:
        return [f for f in self.world.files[sid]
                if all(map(self.blob_ok, f.trees)) and all(map(self.blob_ok, f.chunks))]

    def lost_trees(self, sid: str) -> list[str]:
        """The directories of ``sid`` whose own tree is lost (their parent's is not)."""
        out = []
        for path, tree in self.world.dirs[sid].items():
            if not self.blob_ok(tree) and (path == "/" or self.blob_ok(
                    self.world.dirs[sid][os.path.dirname(path)])):
                out.append(path)
        return out

    def gone(self, sid: str) -> bool:
        """The manifest is not there at all: the snapshot no longer exists (as after
        ``forget``), nothing to name or restore."""
        return not (self.repo / "snapshots" / sid).exists()

    def affected(self, sid: str) -> bool:
        if self.gone(sid):
            return False
        if not self.manifest_ok(sid):
            return True
        return (len(self.intact(sid)) != len(self.world.files[sid])
                or bool(self.lost_trees(sid)))


# --------------------------------------------------------------------------- the cases


def _cases() -> Iterator[tuple[str, str]]:
    for kind in KINDS:
        for how in DAMAGES:
            yield kind, how


def _run(base: Path, *args: str) -> CliResult:
    return invoke_main(list(args), env_for(base))


def _restore_check(base: Path, oracle: Oracle, sid: str, target: Path,
                   sources: tuple[Path, ...], restore_id: str | None = None,
                   want_all: bool = False) -> CliResult:
    """Restore ``sid`` (or ``restore_id``, a repaired copy of it); every file written is
    byte-identical to what was stored, and exactly the intact ones are written (all of them
    with ``want_all``)."""
    out = _run(base, "restore", restore_id or sid, "--target", str(target))
    files = oracle.world.files[sid] if want_all else oracle.intact(sid)
    want = {f.path: f.content for f in files}
    got: dict[str, bytes] = {}
    for src in sources:
        root = restored(target, src)
        for dirpath, _dirs, names in os.walk(root):
            for n in names:
                p = Path(dirpath) / n
                got["/" + os.path.relpath(p, target)] = p.read_bytes()
    assert got == want, (sid, sorted(set(got) ^ set(want)))
    return out


@pytest.mark.parametrize(("kind", "how"), list(_cases()), ids=[f"{k}-{h}" for k, h in _cases()])
def test_damage(world: World, tmp_path: Path, kind: str, how: str) -> None:
    base = tmp_path
    shutil.copytree(world.base / "repo", base / "repo")
    repo = base / "repo"
    names = damage(world, repo, kind, how)
    oracle = Oracle(world, repo)
    sources = (world.base / "src-a", world.base / "src-b")
    affected = [sid for sid in world.snaps.values() if oracle.affected(sid)]

    # 1. check names the damage, the snapshots and the files it costs
    check = _run(base, "check", "--read-data")
    said = check.stdout + check.stderr
    expect_damage = bool(affected) or kind == "config" or (kind, how) in _STRUCTURAL
    assert check.code == (1 if expect_damage else 0), said
    if expect_damage:
        assert any(n in said for n in names), (names, said)
    for sid in affected:
        assert sid[:8] in said, (sid, said)
        if not oracle.manifest_ok(sid):
            continue
        lost_dirs = oracle.lost_trees(sid)
        for d in lost_dirs:
            assert d in said, (d, said)
        for f in world.files[sid]:
            if f not in oracle.intact(sid) and not any(f.path.startswith(d.rstrip("/") + "/")
                                                          for d in lost_dirs):
                assert f.path in said, (f.path, said)

    # 2. what is intact restores, byte-identical, with no manual step
    for sid in world.snaps.values():
        if not oracle.manifest_ok(sid):  # damaged: named by check; gone: nothing to restore
            continue
        out = _restore_check(base, oracle, sid, base / f"before-{sid[:8]}", sources)
        assert out.code == (1 if sid in affected else 0), (sid, out.stderr)

    _report(kind, how, world, oracle, affected, check_code=expect_damage)

    # 3. the repairs bring check back to passing
    for args in REPAIRS:
        out = _run(base, *args)
        assert out.code == 0, (args, out.stdout, out.stderr)
    check = _run(base, "check", "--read-data")
    assert check.code == 0, check.stdout + check.stderr
    for sid in world.snaps.values():
        if sid not in affected and not oracle.gone(sid):  # never touched by any repair
            _restore_check(base, oracle, sid, base / f"after-{sid[:8]}", sources)
    _check_repaired(base, oracle, [s for s in affected if oracle.manifest_ok(s)], sources)

    # 4. the next snap of the live sources restores every file on disk
    for src in sources:
        out = _run(base, "snap", "-q", str(src))
        assert out.code == 0, out.stderr
        target = base / f"live-{src.name}"
        assert _run(base, "restore", out.stdout.strip(), "--target", str(target)).code == 0
        assert _tree_bytes(restored(target, src)) == _tree_bytes(src)
    assert _run(base, "check", "--read-data").code == 0


#: Damage that loses nothing but that check must still report (the pack no longer matches
#: its id, or its trailer disagrees with the index).
_STRUCTURAL = {("data-pack", "wrong-msgpack")}


def _check_repaired(base: Path, oracle: Oracle, affected: list[str],
                    sources: tuple[Path, ...]) -> None:
    """After the repairs, each affected snapshot either restores in full again (``repair
    index`` listed its data again: the original is kept) or has a copy tagged ``repaired``
    that restores exactly its intact files; none only when its root tree itself is lost."""
    now = Repository.open(base / "repo").snapshots()
    for sid in affected:
        target = base / f"repaired-{sid[:8]}"
        if any(s == sid for s, _ in now):
            out = _restore_check(base, oracle, sid, target, sources, want_all=True)
        else:
            copies = [s for s, snap in now if f"repaired from snapshot {sid}" in snap.warnings]
            if not copies:
                assert "/" in oracle.lost_trees(sid), sid
                continue
            assert "repaired" in dict(now)[copies[0]].tags
            out = _restore_check(base, oracle, sid, target, sources, restore_id=copies[0])
        assert out.code == 0, (sid, out.stderr)


def _report(kind: str, how: str, world: World, oracle: Oracle, affected: list[str],
            check_code: bool) -> None:
    """With ``SNAPKIT_MATRIX_REPORT`` set, append this case's figures to that file (JSON
    lines): how docs/reliability.md's table is made."""
    path = os.environ.get("SNAPKIT_MATRIX_REPORT")
    if not path:
        return
    readable = [s for s in world.snaps.values() if oracle.manifest_ok(s)]
    lost = sum(len(world.files[s]) - len(oracle.intact(s)) for s in readable)
    restored_ = sum(len(oracle.intact(s)) for s in readable)
    with open(path, "a") as f:
        f.write(json.dumps({
            "kind": kind, "damage": how, "check_exit": int(check_code),
            "affected": len(affected), "unaffected": sum(
                1 for s in world.snaps.values() if s not in affected and not oracle.gone(s)),
            "files_lost": lost, "files_restored": restored_,
        }) + "\n")


def _tree_bytes(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            out[os.path.relpath(p, root)] = p.read_bytes()
    return out


def test_every_kind_and_damage_is_covered() -> None:
    assert len(list(_cases())) == len(KINDS) * len(DAMAGES) == 30

