"""Value types of the repository format and the one place where they are encoded.

Everything snapkit stores — tree objects, snapshot manifests, pack trailers and index files — is
a frozen dataclass with an explicit ``encode_*``/``decode_*`` pair in msgpack, all importable from
here (pack trailers, index and lock files live in :mod:`snapkit.format.blob_index`, the msgpack and
id
helpers in :mod:`snapkit.format.encoding`). The exact
layout is specified in ``docs/format.md``; change both together and bump ``FORMAT_VERSION``.

Ids are xxh3-128 digests of the plain bytes, 32 lowercase hex characters in Python and 16 raw
bytes inside msgpack. Names of files are kept as raw bytes (``os.fsencode``) so that any name a
filesystem allows survives the round trip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeGuard

import xxhash

# Re-exported: the format's records are all imported from here.
from snapkit.format.blob_index import BlobEntry as BlobEntry
from snapkit.format.blob_index import Damage as Damage
from snapkit.format.blob_index import decode_index as decode_index
from snapkit.format.blob_index import decode_index_file as decode_index_file
from snapkit.format.blob_index import decode_lock as decode_lock
from snapkit.format.blob_index import decode_pack_trailer as decode_pack_trailer
from snapkit.format.blob_index import encode_index as encode_index
from snapkit.format.blob_index import encode_lock as encode_lock
from snapkit.format.blob_index import encode_pack_trailer as encode_pack_trailer
from snapkit.format.encoding import FORMAT_VERSION as FORMAT_VERSION
from snapkit.format.encoding import id_bytes, id_hex, pack_obj, unpack_obj
from snapkit.format.errors import IntegrityError

KIND_DATA = 0
KIND_TREE = 1

NodeType = Literal["file", "dir", "symlink"]
NODE_FILE: Final = "file"
NODE_DIR: Final = "dir"
NODE_SYMLINK: Final = "symlink"
NODE_TYPES: tuple[NodeType, ...] = (NODE_FILE, NODE_DIR, NODE_SYMLINK)


def is_node_type(value: object) -> TypeGuard[NodeType]:
    """True for the node types a tree object may hold."""
    return value in NODE_TYPES


#: The id function (``RepoConfig.hash``): the only one version 1 knows.
ID_HASH: Final = "xxh3-128"


def content_id(data: bytes | bytearray | memoryview) -> str:
    """The id of some plain bytes: xxh3-128, 32 lowercase hex characters."""
    return xxhash.xxh3_128_hexdigest(data)


def file_hasher() -> xxhash.xxh3_128:
    """A streaming hasher for a whole file's content (``Node.hash``)."""
    return xxhash.xxh3_128()


# --------------------------------------------------------------------------- trees


@dataclass(frozen=True)
class Node:
    """One directory entry inside a tree object."""

    name: str  # file name as the OS gives it (surrogate-escaped str)
    type: NodeType
    mode: int  # permission bits (stat.S_IMODE)
    mtime_ns: int
    ctime_ns: int = 0
    size: int = 0
    inode: int = 0
    uid: int = 0
    gid: int = 0
    user: str = ""
    group: str = ""
    content: tuple[str, ...] = ()  # data blob ids, in order (files)
    hash: str | None = None  # files: xxh3-128 of the whole content
    subtree: str | None = None  # tree id (directories)
    target: str | None = None  # link target (symlinks)

    @property
    def name_bytes(self) -> bytes:
        return os.fsencode(self.name)


@dataclass(frozen=True)
class Tree:
    """The entries of one directory, sorted by the raw bytes of their names."""

    nodes: tuple[Node, ...] = ()

    def by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}


def _encode_node(n: Node) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": n.name_bytes,
        "type": n.type,
        "mode": n.mode,
        "mtime": n.mtime_ns,
        "ctime": n.ctime_ns,
        "size": n.size,
        "inode": n.inode,
        "uid": n.uid,
        "gid": n.gid,
        "user": n.user,
        "group": n.group,
    }
    if n.type == NODE_FILE:
        d["content"] = [id_bytes(c) for c in n.content]
        d["hash"] = id_bytes(n.hash) if n.hash else None
    elif n.type == NODE_DIR:
        d["subtree"] = id_bytes(n.subtree) if n.subtree else None
    elif n.type == NODE_SYMLINK:
        d["target"] = os.fsencode(n.target or "")
    return d


def _decode_node(d: Mapping[str, Any]) -> Node:
    try:
        ntype = d["type"]
        if not is_node_type(ntype):
            raise IntegrityError(f"unknown node type {ntype!r} in tree object")
        subtree = d.get("subtree")
        target = d.get("target")
        digest = d.get("hash")
        content = d.get("content", ())
        # Built as Node(...) would build it, without its frozen __init__ (an object.__setattr__
        # per field): a restore decodes a node per entry before it writes anything.
        node = _new_node(Node)
        node.__dict__.update(
            name=os.fsdecode(d["name"]),
            type=ntype,
            mode=int(d["mode"]),
            mtime_ns=int(d["mtime"]),
            ctime_ns=int(d.get("ctime", 0)),
            size=int(d.get("size", 0)),
            inode=int(d.get("inode", 0)),
            uid=int(d.get("uid", 0)),
            gid=int(d.get("gid", 0)),
            user=str(d.get("user", "")),
            group=str(d.get("group", "")),
            content=tuple([id_hex(c) for c in content]),
            hash=id_hex(digest) if digest else None,
            subtree=id_hex(subtree) if subtree else None,
            target=os.fsdecode(target) if target is not None else None,
        )
        return node
    except (KeyError, TypeError) as exc:
        raise IntegrityError(f"malformed node in tree object: {exc}") from exc


_new_node = object.__new__


def sort_nodes(nodes: Sequence[Node]) -> tuple[Node, ...]:
    return tuple(sorted(nodes, key=lambda n: n.name_bytes))


def encode_tree(tree: Tree) -> bytes:
    return pack_obj({"v": FORMAT_VERSION, "nodes": [_encode_node(n) for n in tree.nodes]})


def encode_node(n: Node) -> dict[str, Any]:
    """The map a tree object stores for ``n`` (see :mod:`snapkit.format.raw_tree`)."""
    return _encode_node(n)


def decode_node(d: dict[str, Any]) -> Node:
    """The node of a stored map; IntegrityError when it is malformed."""
    return _decode_node(d)


def decode_tree(data: bytes) -> Tree:
    obj = unpack_obj(data, "tree object")
    if not isinstance(obj, dict) or not isinstance(obj.get("nodes"), list):
        raise IntegrityError("tree object has no node list")
    version = obj.get("v")
    if version != FORMAT_VERSION:
        raise IntegrityError(
            f"tree object has format version {version}; this snapkit reads version "
            f"{FORMAT_VERSION} — upgrade snapkit"
        )
    return Tree(tuple(_decode_node(n) for n in obj["nodes"]))


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class Skipped:
    """An entry that is not in the snapshot, and why (not counting exclusion rules)."""

    path: str
    reason: str  # "symlink", "socket", "fifo", "device", "vanished", "unreadable", ...
    detail: str = ""  # symlink target, error text, ...


@dataclass(frozen=True)
class Summary:
    files_new: int = 0
    files_changed: int = 0
    files_unmodified: int = 0
    dirs: int = 0
    symlinks: int = 0
    total_files: int = 0
    total_bytes: int = 0
    bytes_read: int = 0
    blobs_added: int = 0
    bytes_added_raw: int = 0
    bytes_added_stored: int = 0
    excluded_entries: int = 0
    duration_s: float = 0.0


@dataclass(frozen=True)
class Snapshot:
    """A snapshot manifest: the commit point of one backup run."""

    time_ns: int  # UTC, nanoseconds since the epoch
    hostname: str
    username: str
    sources: tuple[str, ...]
    tree: str  # root tree id
    parent: str | None = None
    tags: tuple[str, ...] = ()
    mode: str = "full"
    program_version: str = ""
    summary: Summary = field(default_factory=Summary)
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # which rule set applied to each source
    service: Mapping[str, Any] = field(default_factory=dict)
    sqlite: tuple[str, ...] = ()  # databases captured through the online backup API
    #: the OpenClaw installation the sources belong to, as discovered when the snapshot was
    #: taken (``Installation.to_dict``); empty for other trees and older snapshots
    openclaw: Mapping[str, Any] = field(default_factory=dict)
    #: for a snapshot made by ``snapkit import``: ``archive`` (its file name), ``layout``
    #: ("snapkit", "openclaw", "tar"), ``complete`` (False: the archive ended early) and
    #: ``snapshot`` (the exported snapshot's id, if any)
    imported: Mapping[str, Any] = field(default_factory=dict)
    #: when ``time_ns`` was given (``snap --time``): the real start, which the files cache
    #: compares a ``-wal``'s mtime with; None: ``time_ns`` is the real start
    started_ns: int | None = None
    #: for a copy re-keyed by ``snapkit copy`` (its id differs from its source's): the id of
    #: the snapshot first copied (a copy of a copy names the first); None for an original
    original: str | None = None

    @property
    def taken_ns(self) -> int:
        """When the snapshot really started (``started_ns``, else ``time_ns``): the files
        cache's reference and the order parents are chosen in."""
        return self.time_ns if self.started_ns is None else self.started_ns

    @property
    def is_import(self) -> bool:
        """Made by ``snapkit import`` (older imports are known by their rules line)."""
        return bool(self.imported) or any(": import (" in rule for rule in self.rules)

    @property
    def incomplete(self) -> bool:
        """Some files could not be read (``snap`` exit 3) or the archive ended early
        (``import`` of a truncated archive)."""
        return (self.imported.get("complete") is False
                or any(k.reason in ("unreadable", "truncated") for k in self.skipped))


def snapshot_order(pair: tuple[str, Snapshot]) -> tuple[int, bool, str]:
    """The order of snapshots, oldest first: by time; at the same time an imported snapshot
    before one taken here (so ``latest`` and a tag name the one taken here); then by id."""
    sid, snap = pair
    return snap.time_ns, not snap.is_import, sid


def _text(s: str) -> str:
    """Make a possibly surrogate-escaped path string safe to store as UTF-8 text."""
    return os.fsencode(s).decode("utf-8", "backslashreplace") if _has_surrogates(s) else s


def _has_surrogates(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def encode_snapshot(s: Snapshot) -> bytes:
    return pack_obj(
        {
            "v": FORMAT_VERSION,
            "time": s.time_ns,
            "hostname": s.hostname,
            "username": s.username,
            "sources": [_text(p) for p in s.sources],
            "tree": id_bytes(s.tree),
            "parent": s.parent,
            "tags": list(s.tags),
            "mode": s.mode,
            "program_version": s.program_version,
            "summary": {k: getattr(s.summary, k) for k in Summary.__dataclass_fields__},
            "skipped": [[_text(k.path), k.reason, _text(k.detail)] for k in s.skipped],
            "warnings": [_text(w) for w in s.warnings],
            "rules": list(s.rules),
            "service": dict(s.service),
            "sqlite": [_text(p) for p in s.sqlite],
            **({"openclaw": dict(s.openclaw)} if s.openclaw else {}),
            **({"imported": dict(s.imported)} if s.imported else {}),
            **({"started": s.started_ns} if s.started_ns is not None else {}),
            **({"original": s.original} if s.original else {}),
        }
    )


def decode_snapshot(data: bytes) -> Snapshot:
    obj = unpack_obj(data, "snapshot manifest")
    if not isinstance(obj, dict):
        raise IntegrityError("snapshot manifest is not a map")
    version = obj.get("v")
    if version != FORMAT_VERSION:
        raise IntegrityError(
            f"snapshot manifest has format version {version}; this snapkit reads version "
            f"{FORMAT_VERSION} — upgrade snapkit"
        )
    try:
        fields = Summary.__dataclass_fields__
        summary = Summary(**{k: v for k, v in obj.get("summary", {}).items() if k in fields})
        return Snapshot(
            time_ns=int(obj["time"]),
            hostname=str(obj["hostname"]),
            username=str(obj.get("username", "")),
            sources=tuple(obj["sources"]),
            tree=id_hex(obj["tree"]),
            parent=obj.get("parent"),
            tags=tuple(obj.get("tags", ())),
            mode=str(obj.get("mode", "full")),
            program_version=str(obj.get("program_version", "")),
            summary=summary,
            skipped=tuple(Skipped(p, r, d) for p, r, d in obj.get("skipped", ())),
            warnings=tuple(obj.get("warnings", ())),
            rules=tuple(obj.get("rules", ())),
            service=dict(obj.get("service", {})),
            sqlite=tuple(obj.get("sqlite", ())),
            openclaw=dict(obj.get("openclaw", {})),
            imported=dict(obj.get("imported", {})),
            started_ns=None if obj.get("started") is None else int(obj["started"]),
            original=str(obj["original"]) if obj.get("original") else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"malformed snapshot manifest: {exc}") from exc


# --------------------------------------------------------------------------- repository config


@dataclass(frozen=True)
class ChunkerParams:
    """FastCDC 2020 parameters, part of the repository's ``config`` file
    (``snapkit.store.repository.RepoConfig``): fixed per repository so chunks dedup across
    snapshots. The chunker takes them from here, so capture never needs the store."""

    algorithm: str = "fastcdc2020"
    min_size: int = 16 * 1024
    avg_size: int = 32 * 1024
    max_size: int = 128 * 1024
    normalization: int = 1
    seed: int = 0
