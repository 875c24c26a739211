"""Import a tar / tar.gz / tar.zst archive as a new snapshot, deduplicated against the store.

The archive is read once, sequentially (tarfile mode ``r|``; the compression is detected by
its magic bytes, not the file name). File content goes through the repository's chunker
straight into a :class:`BlobSaver`, so memory is bounded by chunks, not file size; only the
tree structure (one :class:`Node` per entry) is held until the end. Nothing is ever written
to the filesystem except the repository.

Entries are first collected under their archive names, then placed under absolute paths by
the archive's layout:

``snapkit``
    an archive made by ``snapkit export`` (metadata in the PAX global header ``comment``):
    ``paths: absolute`` names are absolute paths without the leading ``/`` (a first component
    ``C`` is the drive ``C:`` when a source was on it); ``paths: relative`` names start with
    the name of a source directory and go back under its parent. Host, user, sources, time,
    mode and tags are restored, plus the tag ``imported``; each file is checked against the
    checksum the metadata carries.
``openclaw``
    an archive made by ``openclaw backup create``: one top directory ``<root>/`` holding
    ``manifest.json`` and ``payload/posix/<absolute path without its leading />`` (and
    ``payload/windows/<drive>/...`` or ``payload/win32/<drive>/...`` for ``<drive>:``). The
    manifest itself is not stored; sources come from its ``assets[].sourcePath``,
    ``paths.stateDir`` / ``stateDir``, ``sources`` or ``entries``, else the common top
    directory of the payload.
``tar``
    any other tar: everything goes under ``/imported/<archive name without extensions>``,
    which is the snapshot's one source (a ``./`` entry gives that directory's metadata).

Hostile entries are neutralised or dropped, each with a warning (see :data:`POLICY`). A
member that cannot be read to its end (a truncated or corrupt archive) ends the import: what
was read before it is saved, with a warning, and :attr:`ImportResult.complete` is False.
"""

from __future__ import annotations

import bz2
import lzma
import os
import socket
import tarfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any

import zstandard

from snapkit import __version__
from snapkit.archive_meta import ArchiveMeta
from snapkit.archive_verify import read_metadata
from snapkit.chunker import Chunker
from snapkit.errors import UsageError
from snapkit.model import (
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    Node,
    Skipped,
    Snapshot,
    Summary,
    Tree,
    content_id,
    file_hasher,
    sort_nodes,
)
from snapkit.nodes import current_user, node_from_tar
from snapkit.openclaw_archive import (
    MANIFEST,
    MANIFEST_MAX,
    PAYLOAD,
    declared_sources,
    iso_ns,
    manifest_doc,
    relative_prefixes,
    snapshot_mode,
    source_parts,
)
from snapkit.paths import join_path
from snapkit.store.repository import BlobSaver, Repository
from snapkit.treewalk import Parts, UnsafeName, check_name

LAYOUTS = ("snapkit", "openclaw", "tar")
IMPORT_TAG = "imported"
#: The longest file name component (in bytes) file systems hold (Linux, macOS, NTFS: 255).
NAME_MAX = 255
FOREIGN_ROOT = "imported"  # foreign tars go under /imported/<archive stem>

#: How each kind of hostile entry is handled (documented in docs/import-export.md).
POLICY = {
    "absolute name": "leading / removed, entry kept",
    "'.' or empty components": "removed, entry kept",
    "'..' component": "entry dropped",
    "NUL or unusable name": "entry dropped",
    "component over 255 bytes": "entry dropped",
    "empty name": "entry dropped (a './' directory gives the import root's metadata)",
    "absolute or escaping symlink": "kept as a symlink node (never followed), warning",
    "entry below a symlink or file": "entry dropped, never written through the link",
    "hard link": "a copy of its target if that member came earlier, else dropped",
    "device, FIFO, other types": "dropped, listed as skipped",
    "duplicate name": "the last entry wins",
    "truncated member": "import stops; what came before is saved",
}

_TAR_SUFFIXES = (".tar.gz", ".tar.zst", ".tar.bz2", ".tar.xz", ".tgz", ".tzst", ".tbz2",
                 ".txz", ".tar", ".gz", ".zst")


@dataclass(frozen=True)
class ImportOptions:
    tags: tuple[str, ...] = ()
    hostname: str | None = None  # None: the archive's (snapkit exports), else this machine's
    workers: int = 2
    zstd_level: int | None = None  # None: the repository's level


@dataclass(frozen=True)
class ImportResult:
    snapshot_id: str
    snapshot: Snapshot
    layout: str  # "snapkit" | "openclaw" | "tar"
    compression: str  # "gzip" | "zstd" | "bzip2" | "xz" | "none"
    origin_snapshot: str | None  # the exported snapshot's id (snapkit layout)
    files: int
    dirs: int
    symlinks: int
    bytes: int
    complete: bool  # False: the archive ended early or was damaged; the rest was saved
    #: the archive holds a snapshot of this repository (or a subset of one): nothing was
    #: added, and ``snapshot_id`` names the snapshot already there
    already_present: bool = False


class _Damaged(Exception):
    """The archive stream failed (truncated, corrupt); carries the reason."""


_READ_ERRORS = (tarfile.TarError, EOFError, OSError, zstandard.ZstdError, lzma.LZMAError)


class _Guarded:
    """A member's content stream that turns archive read errors into :class:`_Damaged`, so
    they are never confused with errors writing the repository."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)
        except _READ_ERRORS as exc:
            raise _Damaged(str(exc) or type(exc).__name__) from exc

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


# ------------------------------------------------------------------ opening the archive


def _open_stream(path: str) -> tuple[IO[bytes], str]:
    """The decompressed stream of ``path`` and the compression found by its magic bytes."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (returned to the caller)
    except IsADirectoryError as exc:
        raise UsageError(f"{path} is a directory, not an archive") from exc
    except FileNotFoundError as exc:
        raise UsageError(f"{path} does not exist; pass an archive file") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    head = f.read(6)
    f.seek(0)
    if head[:2] == b"\x1f\x8b":
        from isal import igzip

        gz: IO[bytes] = igzip.GzipFile(  # type: ignore[no-untyped-call,assignment]
            fileobj=f, mode="rb")
        return gz, "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(f, closefd=True), "zstd"
    if head[:3] == b"BZh":
        return bz2.BZ2File(f), "bzip2"
    if head == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(f), "xz"
    return f, "none"


def _open_tar(stream: IO[bytes], path: str) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=stream, mode="r|", encoding="utf-8",
                            errors="surrogateescape")
    except _READ_ERRORS as exc:
        stream.close()
        raise UsageError(f"{path} is not a readable tar, tar.gz or tar.zst archive "
                         f"({str(exc) or type(exc).__name__})") from exc


def probe_archive(path: str) -> str:
    """Check that ``path`` opens as a tar archive (its first header reads); return the
    compression. Raises :class:`UsageError` (exit 2) with one clear line otherwise."""
    stream, compression = _open_stream(path)
    with stream, _open_tar(stream, path):
        pass
    return compression


# ------------------------------------------------------------------ names and times


def _show(name: str) -> str:
    return name if name.isprintable() else repr(name)[1:-1]


def _archive_stem(path: str) -> str:
    name = os.path.basename(path)
    low = name.lower()
    for suffix in _TAR_SUFFIXES:
        if low.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    try:
        check_name(name, ())
    except UnsafeName:
        return "archive"
    return name


# ------------------------------------------------------------------ the in-memory tree


class _Dir:
    """A directory being assembled: its own header (if the archive had one) and children."""

    __slots__ = ("children", "node")

    def __init__(self, node: Node | None = None) -> None:
        self.node = node
        self.children: dict[str, _Dir | Node] = {}

    def count(self) -> int:
        return sum(1 + (c.count() if isinstance(c, _Dir) else 0) for c in self.children.values())


Item = _Dir | Node


def _lookup(root: _Dir, parts: Parts) -> Item | None:
    item: Item = root
    for name in parts:
        if not isinstance(item, _Dir):
            return None
        child = item.children.get(name)
        if child is None:
            return None
        item = child
    return item


@dataclass
class _State:
    warnings: list[str] = field(default_factory=list)
    skipped: list[tuple[Parts | None, str, str, str]] = field(default_factory=list)
    bytes_read: int = 0
    complete: bool = True
    manifests: dict[Parts, tuple[Node, list[bytes]]] = field(default_factory=dict)
    held: int = 0  # bytes of candidate manifests held in memory (at most MANIFEST_MAX)


class _Collector:
    """Reads the members of an archive into a tree keyed by archive names."""

    def __init__(self, saver: BlobSaver, chunker: Chunker, checksums: Mapping[str, str]) -> None:
        self.saver = saver
        self.chunker = chunker
        self.checksums = checksums
        self.root = _Dir()
        self.st = _State()

    def warn(self, message: str) -> None:
        self.st.warnings.append(message)

    # --------------------------------------------------------------- names

    def normalize(self, name: str, what: str = "") -> Parts | None:
        """Archive name → safe components (``()`` is the archive root), or None to drop."""
        shown = _show(name)
        label = f"{what} {shown}" if what else shown
        if "\0" in name:
            self.warn(f"{label}: name contains NUL; entry dropped")
            return None
        if name.startswith("/"):
            if not what:
                self.warn(f"{shown}: absolute name; leading / removed")
            name = name.lstrip("/")
        parts = tuple(p for p in name.split("/") if p and p != ".")
        if ".." in parts:
            self.warn(f"{label}: name contains '..'; entry dropped")
            return None
        try:
            for i, p in enumerate(parts):
                check_name(p, parts[:i])
        except UnsafeName:
            self.warn(f"{label}: name unusable on this system; entry dropped")
            return None
        long = next((p for p in parts if len(os.fsencode(p)) > NAME_MAX), None)
        if long is not None:
            self.warn(f"{label}: a component is {len(os.fsencode(long))} bytes long, more than "
                      f"the {NAME_MAX} a file system holds; entry dropped")
            return None
        return parts

    # --------------------------------------------------------------- placing entries

    def place(self, parts: Parts, item: Item, shown: str) -> bool:
        d = self.root
        for i, name in enumerate(parts[:-1]):
            child = d.children.get(name)
            if child is None:
                child = d.children[name] = _Dir()
            elif not isinstance(child, _Dir):
                above = "/".join(parts[: i + 1])
                self.warn(f"{shown}: {_show(above)} is a {child.type} in the archive; entry "
                          "dropped (nothing is written through it)")
                return False
            d = child
        last = parts[-1]
        old = d.children.get(last)
        if isinstance(item, _Dir):
            if isinstance(old, _Dir):
                old.node = item.node  # a repeated directory header: its metadata is updated
                return True
            if old is not None:
                self.warn(f"{shown}: duplicate name; the directory replaces an earlier "
                          f"{old.type}")
        elif isinstance(old, _Dir):
            n = old.count()
            self.warn(f"{shown}: duplicate name; the {item.type} replaces an earlier directory"
                      + (f" and its {n} entries" if n else ""))
        elif old is not None:
            self.warn(f"{shown}: duplicate name; the last entry wins")
        d.children[last] = item
        return True

    # --------------------------------------------------------------- members

    def member(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        shown = _show(m.name)
        parts = self.normalize(m.name)
        if parts is None:
            return
        if not parts:
            if m.isdir():
                self.root.node = node_from_tar("", NODE_DIR, m)
            else:
                self.warn(f"{shown or repr(m.name)}: empty name; entry dropped")
            return
        name = parts[-1]
        if m.isreg():
            self.file(tar, m, parts, shown)
        elif m.isdir():
            self.place(parts, _Dir(node_from_tar(name, NODE_DIR, m)), shown)
        elif m.issym():
            self.symlink(m, parts, shown)
        elif m.islnk():
            self.hardlink(m, parts, shown)
        elif m.ischr() or m.isblk():
            kind = "char" if m.ischr() else "block"
            self.st.skipped.append((parts, m.name, "device",
                                    f"{kind} device {m.devmajor},{m.devminor}"))
        elif m.isfifo():
            self.st.skipped.append((parts, m.name, "fifo", ""))
        else:
            self.st.skipped.append((parts, m.name, "other", f"tar type {m.type!r}"))

    def file(self, tar: tarfile.TarFile, m: tarfile.TarInfo, parts: Parts, shown: str) -> None:
        f = tar.extractfile(m)
        if f is None:  # pragma: no cover - isreg() members always have a stream
            return
        is_manifest = (len(parts) == 2 and parts[1] == MANIFEST
                       and self.st.held + m.size <= MANIFEST_MAX)
        if is_manifest:
            self.st.held += m.size
        hasher = file_hasher()
        content: list[str] = []
        kept: list[bytes] = []
        size = 0
        for chunk in self.chunker.chunks(_Guarded(f), m.size):  # type: ignore[arg-type]
            hasher.update(chunk)
            size += len(chunk)
            self.st.bytes_read += len(chunk)
            if is_manifest:  # saved at the end unless it is an openclaw backup's manifest
                content.append(content_id(chunk))
                kept.append(chunk)
            else:
                content.append(self.saver.save_data(chunk))
        digest = hasher.hexdigest()
        want = self.checksums.get(m.name)
        if want and want != digest:
            self.warn(f"{shown}: content does not match the checksum recorded at export")
        node = node_from_tar(parts[-1], NODE_FILE, m, size=size, content=tuple(content),
                          hash=digest)
        if self.place(parts, node, shown) and is_manifest:
            self.st.manifests[parts] = (node, kept)

    def symlink(self, m: tarfile.TarInfo, parts: Parts, shown: str) -> None:
        target = m.linkname
        if not target or "\0" in target:
            self.warn(f"{shown}: symlink with an empty or NUL target; entry dropped")
            return
        if target.startswith("/"):
            self.warn(f"{shown}: symlink to the absolute path {_show(target)} (kept as a link, "
                      "never followed)")
        elif _escapes(parts[:-1], target):
            self.warn(f"{shown}: symlink target {_show(target)} escapes the archive (kept as a "
                      "link, never followed)")
        self.place(parts, node_from_tar(parts[-1], NODE_SYMLINK, m, target=target), shown)

    def hardlink(self, m: tarfile.TarInfo, parts: Parts, shown: str) -> None:
        target_parts = self.normalize(m.linkname, f"{shown}: hard link target")
        target = _lookup(self.root, target_parts) if target_parts else None
        if not isinstance(target, Node) or target.type != NODE_FILE:
            if target_parts is not None:
                self.warn(f"{shown}: hard link to {_show(m.linkname)}, which is not an earlier "
                          "file of the archive; entry dropped")
            self.st.skipped.append((parts, m.name, "hardlink", m.linkname))
            return
        pending = self.st.manifests.get(target_parts) if target_parts else None
        if pending is not None and pending[0] is target:  # its content is needed after all
            for blob_id, chunk in zip(target.content, pending[1], strict=True):
                self.saver.save_data(chunk, blob_id)
        self.place(parts, replace(target, name=parts[-1]), shown)


def _escapes(base: Parts, target: str) -> bool:
    depth = len(base)
    for p in target.split("/"):
        if p == "..":
            depth -= 1
            if depth < 0:
                return True
        elif p and p != ".":
            depth += 1
    return False


# ------------------------------------------------------------------ layouts


@dataclass(frozen=True)
class _Layout:
    name: str
    prefixes: tuple[tuple[Parts, Parts], ...]  # archive prefix -> absolute prefix
    drop: frozenset[Parts] = frozenset()
    sources: tuple[str, ...] = ()  # recorded or declared sources (not yet checked)
    exact: bool = False  # sources recorded by snapkit: taken as they are
    relative: Parts | None = None  # openclaw payload/relative: no recorded base directory


def _snapkit_layout(meta: ArchiveMeta) -> _Layout:
    sources = meta.sources
    parsed = [p for p in (source_parts(s) for s in sources) if p is not None]
    prefixes: tuple[tuple[Parts, Parts], ...]
    if meta.paths == "relative":
        prefixes = tuple(((p[-1] if p else "root",), p) for p in parsed)
    else:
        drives = sorted({p[0] for p in parsed if p and p[0].endswith(":")})
        prefixes = (*(((d[:-1],), (d,)) for d in drives), ((), ()))
    return _Layout("snapkit", prefixes, sources=sources, exact=True)


def _openclaw_top(root: _Dir) -> tuple[str, _Dir] | None:
    """The archive root and its ``payload/`` when ``root`` has OpenClaw's shape: one top
    directory holding a ``manifest.json`` file and a ``payload/`` directory."""
    if len(root.children) != 1:
        return None
    (top, item), = root.children.items()
    if not isinstance(item, _Dir):
        return None
    manifest = item.children.get(MANIFEST)
    payload = item.children.get(PAYLOAD)
    if not isinstance(manifest, Node) or manifest.type != NODE_FILE:
        return None
    if not isinstance(payload, _Dir):
        return None
    return top, payload


def _openclaw_layout(top: str, payload: _Dir, doc: Mapping[str, Any], fallback: Parts
                     ) -> _Layout | None:
    prefixes: list[tuple[Parts, Parts]] = []
    if isinstance(payload.children.get("posix"), _Dir):
        prefixes.append(((top, PAYLOAD, "posix"), ()))
    for windows in ("windows", "win32"):
        wdir = payload.children.get(windows)
        if isinstance(wdir, _Dir):
            for drive, sub in wdir.children.items():
                if isinstance(sub, _Dir) and len(drive) == 1 and drive.isalpha():
                    prefixes.append(((top, PAYLOAD, windows, drive), (drive.upper() + ":",)))
    relative: Parts | None = None
    if isinstance(payload.children.get("relative"), _Dir):
        # Exact where an asset records the absolute source of a relative archive path; the
        # rest has no recorded base directory and goes below the fallback root.
        prefixes += relative_prefixes(doc, top)
        relative = (top, PAYLOAD, "relative")
        prefixes.append((relative, fallback))
    if not prefixes:
        return None
    return _Layout("openclaw", tuple(prefixes), drop=frozenset({(top, MANIFEST)}),
                   relative=relative)


# ------------------------------------------------------------------ mapping and building


class _Assembler:
    """Moves the archive-named tree to absolute paths and saves the tree objects."""

    def __init__(self, saver: BlobSaver, layout: _Layout, fallback: Parts,
                 warnings: list[str]) -> None:
        self.saver = saver
        self.layout = layout
        self.fallback = fallback
        self.warnings = warnings
        self.root = _Dir()
        self.unmapped = 0
        self.relative = 0  # entries below openclaw payload/relative with no recorded base
        self.keys = sorted(layout.prefixes, key=lambda kv: -len(kv[0]))

    def _match(self, parts: Parts) -> tuple[Parts, Parts] | None:
        for rel, absolute in self.keys:
            if parts[: len(rel)] == rel:
                return rel, absolute
        return None

    def map(self, parts: Parts) -> Parts | None:
        match = self._match(parts)
        return None if match is None else match[1] + parts[len(match[0]):]

    def run(self, rel_root: _Dir) -> None:
        work: list[tuple[Parts, Item]] = [((), rel_root)]
        while work:
            parts, item = work.pop()
            if parts in self.layout.drop:
                continue
            container = any(len(k) > len(parts) and k[: len(parts)] == parts
                            for k, _ in self.keys)
            match = None if container else self._match(parts)
            mapped = None if match is None else match[1] + parts[len(match[0]):]
            if isinstance(item, _Dir) and (container or mapped == ()):
                work.extend(((*parts, n), c) for n, c in item.children.items())
                continue
            if match is not None and match[0] == self.layout.relative:
                self.relative += 1 + (item.count() if isinstance(item, _Dir) else 0)
            if mapped is None:
                mapped = self.fallback + parts
                self.unmapped += 1
            self.insert(mapped, item)

    def insert(self, parts: Parts, item: Item) -> None:
        d = self.root
        for name in parts[:-1]:
            child = d.children.get(name)
            if not isinstance(child, _Dir):
                if child is not None:
                    self.warnings.append(f"{join_path(parts)}: {join_path(parts[:-1])} is "
                                         "not a directory; entry dropped")
                    return
                child = d.children[name] = _Dir()
            d = child
        if not parts:  # the archive root itself (foreign tars: mapped to the fallback)
            return
        old = d.children.get(parts[-1])
        if isinstance(old, _Dir) and isinstance(item, _Dir):
            _merge(old, item)
            return
        if old is not None:
            self.warnings.append(f"{join_path(parts)}: two archive entries map here; the "
                                 "last one wins")
        d.children[parts[-1]] = item

    def save(self) -> tuple[str, dict[str, int]]:
        """Save every tree object bottom-up; return the root tree id and counts."""
        counts = {"files": 0, "dirs": 0, "symlinks": 0, "bytes": 0}
        ids: dict[int, tuple[str, int]] = {}  # id(_Dir) -> (tree id, mtime for its node)
        work: list[tuple[_Dir, bool]] = [(self.root, False)]
        while work:
            d, ready = work.pop()
            if not ready:
                work.append((d, True))
                work.extend((c, False) for c in d.children.values() if isinstance(c, _Dir))
                continue
            nodes: list[Node] = []
            for name, c in d.children.items():
                if isinstance(c, _Dir):
                    tree_id, mtime = ids.pop(id(c))
                    base = c.node or Node(name, NODE_DIR, 0o755, mtime)
                    nodes.append(replace(base, name=name, subtree=tree_id, size=0,
                                         content=(), hash=None, target=None))
                    counts["dirs"] += 1
                else:
                    nodes.append(c if c.name == name else replace(c, name=name))
                    if c.type == NODE_FILE:
                        counts["files"] += 1
                        counts["bytes"] += c.size
                    else:
                        counts["symlinks"] += 1
            tree_id = self.saver.save_tree(Tree(sort_nodes(nodes)))
            # A directory the archive had no header for: 0755, the newest mtime inside it.
            ids[id(d)] = (tree_id, max((n.mtime_ns for n in nodes), default=0))
        return ids[id(self.root)][0], counts


def _merge(dst: _Dir, src: _Dir) -> None:
    if src.node is not None:
        dst.node = src.node
    for name, item in src.children.items():
        old = dst.children.get(name)
        if isinstance(old, _Dir) and isinstance(item, _Dir):
            _merge(old, item)
        else:
            dst.children[name] = item


def _common_top(root: _Dir) -> list[Parts]:
    """The common directory of each top-level group of files (a source per group)."""
    tops: list[Parts] = []
    for name, item in root.children.items():
        if not isinstance(item, _Dir):
            continue
        prefix: Parts | None = None
        work: list[tuple[Parts, _Dir]] = [((name,), item)]
        while work:
            parts, d = work.pop()
            if not d.children:
                prefix = _common(prefix, parts)
            for n, c in d.children.items():
                if isinstance(c, _Dir):
                    work.append(((*parts, n), c))
                else:
                    prefix = _common(prefix, parts)
        tops.append(prefix or (name,))
    return tops


def _common(a: Parts | None, b: Parts) -> Parts:
    if a is None:
        return b
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _outermost(paths: Sequence[Parts]) -> list[Parts]:
    uniq = sorted(set(paths))
    return [p for p in uniq if not any(q != p and p[: len(q)] == q for q in uniq)]


# ------------------------------------------------------------------ the import


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    iterator = iter(tar)
    while True:
        try:
            m = next(iterator, None)
        except _READ_ERRORS as exc:
            raise _Damaged(str(exc) or type(exc).__name__) from exc
        if m is None:
            return
        yield m


def import_archive(repo: Repository, path: str, opts: ImportOptions) -> ImportResult:
    """Read ``path`` into ``repo`` as a new snapshot; the manifest is the commit point."""
    started = time.time_ns()
    stream, compression = _open_stream(path)
    fallback: Parts = (FOREIGN_ROOT, _archive_stem(path))
    with stream:
        tar = _open_tar(stream, path)
        meta = read_metadata(tar, path)
        present = _already_present(repo, meta)
        if present is not None:
            sid, snap = present
            return ImportResult(snapshot_id=sid, snapshot=snap, layout=(
                meta.layout if meta else "snapkit"), compression=compression,
                origin_snapshot=str(meta.snapshot if meta else None), files=0, dirs=0,
                symlinks=0, bytes=0, complete=True, already_present=True)
        checksums: dict[str, str] = dict(meta.files) if meta is not None else {}
        with repo.saver(opts.workers, opts.zstd_level) as saver:
            col = _Collector(saver, Chunker(repo.config.chunker), checksums)
            current = ""
            try:
                with tar:
                    for m in _members(tar):
                        current = m.name
                        col.member(tar, m)
                        current = ""
                # Read to the end so the compression's own check (gzip CRC, zstd checksum)
                # covers everything imported; extractors stop at the tar end blocks.
                drain = _Guarded(stream)
                while drain.read(1024 * 1024):
                    pass
            except _Damaged as exc:
                col.st.complete = False
                where = f" in {_show(current)}" if current else ""
                col.warn(f"archive damaged or truncated{where} ({exc}); the entries before "
                         "it were imported")
                if current:
                    col.st.skipped.append((None, current, "truncated", str(exc)))
            layout, doc = _choose_layout(col, meta, fallback)
            # Candidate manifests that stay ordinary files are stored now.
            for parts, (node, kept) in col.st.manifests.items():
                if parts in layout.drop or _lookup(col.root, parts) is not node:
                    continue
                for blob_id, chunk in zip(node.content, kept, strict=True):
                    saver.save_data(chunk, blob_id)
            asm = _Assembler(saver, layout, fallback, col.st.warnings)
            asm.run(col.root)
            if asm.relative:
                col.warn(f"{asm.relative} entries below payload/relative have no recorded base "
                         "directory (OpenClaw takes such a path relative to the working "
                         "directory of `openclaw backup create`, which no archive records); "
                         f"placed under {join_path(fallback)}")
            if layout.name == "openclaw" and asm.unmapped:
                col.warn(f"{asm.unmapped} entries outside payload/ were placed under "
                         f"{join_path(fallback)}")
            root_id, counts = asm.save()
            saver.flush()
            sources = _sources(layout, asm, fallback)
            summary = Summary(
                files_new=counts["files"],
                dirs=counts["dirs"],
                symlinks=counts["symlinks"],
                total_files=counts["files"],
                total_bytes=counts["bytes"],
                bytes_read=col.st.bytes_read,
                blobs_added=saver.blobs_added,
                bytes_added_raw=saver.bytes_added_raw,
                bytes_added_stored=saver.bytes_added_stored,
                duration_s=round((time.time_ns() - started) / 1e9, 3),
            )
    skipped = tuple(
        Skipped(join_path(asm.map(p) or fallback + p) if p is not None else f"(archive) {name}",
                reason, detail)
        for p, name, reason, detail in col.st.skipped
    )
    snap = _manifest(layout, meta, doc, opts, sources, root_id, summary, skipped,
                     col.st.warnings, started, path, col.st.complete)
    snap_id = repo.save_snapshot(snap)
    return ImportResult(
        snapshot_id=snap_id,
        snapshot=snap,
        layout=layout.name,
        compression=compression,
        origin_snapshot=meta.snapshot if meta else None,
        files=counts["files"],
        dirs=counts["dirs"],
        symlinks=counts["symlinks"],
        bytes=counts["bytes"],
        complete=col.st.complete,
    )


def _already_present(repo: Repository, meta: ArchiveMeta | None
                     ) -> tuple[str, Snapshot] | None:
    """The snapshot of this repository that a snapkit archive was exported from — itself, or
    a complete earlier import of the same snapshot — or None. (An import cut short by a
    truncated archive does not count: a complete copy may still bring the rest.)"""
    origin = meta.snapshot if meta else None
    if not origin:
        return None
    for sid, snap in repo.snapshots():
        if sid == origin or (snap.imported.get("snapshot") == origin and not snap.incomplete):
            return sid, snap
    return None


def _choose_layout(col: _Collector, meta: ArchiveMeta | None, fallback: Parts
                   ) -> tuple[_Layout, dict[str, Any]]:
    found = _openclaw_top(col.root)
    if found is not None and (meta is None or meta.layout == "openclaw"):
        top, payload = found
        kept = col.st.manifests.get((top, MANIFEST))
        doc = manifest_doc(b"".join(kept[1])) if kept else {}
        layout = _openclaw_layout(top, payload, doc, fallback)
        if layout is not None and meta is not None:  # a snapkit export in OpenClaw's layout
            recorded = _snapkit_layout(meta)
            return replace(layout, sources=recorded.sources, exact=True), doc
        if layout is not None:
            return replace(layout, sources=tuple(declared_sources(doc))), doc
    if meta is not None:
        return _snapkit_layout(meta), {}
    return _Layout("tar", (((), fallback),)), {}


def _sources(layout: _Layout, asm: _Assembler, fallback: Parts) -> tuple[str, ...]:
    if layout.name == "tar":
        return (join_path(fallback),)
    if layout.exact and layout.sources:
        out = list(layout.sources)
    else:
        declared = [p for p in (source_parts(s) for s in layout.sources) if p is not None]
        present = [p for p in declared if _lookup(asm.root, p) is not None]
        tops = present or [p for p in _common_top(asm.root) if p[: len(fallback)] != fallback]
        out = [join_path(p) for p in _outermost(tops)]
    if (asm.unmapped or asm.relative) and join_path(fallback) not in out:
        out.append(join_path(fallback))
    return tuple(sorted(out))


def _manifest(
    layout: _Layout,
    archive: ArchiveMeta | None,
    doc: Mapping[str, Any],
    opts: ImportOptions,
    sources: tuple[str, ...],
    root_id: str,
    summary: Summary,
    skipped: tuple[Skipped, ...],
    warnings: Sequence[str],
    started: int,
    archive_path: str,
    complete: bool,
) -> Snapshot:
    meta = archive or ArchiveMeta()
    tags = [IMPORT_TAG, *meta.tags, *opts.tags]
    time_ns = meta.time_ns
    if time_ns is None:
        time_ns = iso_ns(doc.get("createdAt")) or started
    hostname = opts.hostname or meta.hostname or socket.gethostname()
    username = meta.username or current_user()
    mode = meta.mode or (snapshot_mode(doc) if layout.name == "openclaw" else "full")
    return Snapshot(
        time_ns=time_ns,
        hostname=hostname,
        username=username,
        sources=sources,
        tree=root_id,
        tags=tuple(dict.fromkeys(tags)),
        mode=mode,
        program_version=__version__,
        summary=summary,
        skipped=skipped,
        warnings=tuple(warnings),
        rules=tuple(f"{s}: import ({layout.name} archive)" for s in sources),
        imported={"archive": os.path.basename(archive_path), "layout": layout.name,
                  "complete": complete,
                  **({"snapshot": meta.snapshot} if meta.snapshot else {})},
    )
