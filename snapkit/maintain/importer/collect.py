"""Collecting an archive's members into a tree keyed by archive names, and the hostile-entry
policy: every name is normalised or the entry dropped, each case with a warning
(:data:`POLICY`, documented in ``docs/import-export.md``). File content goes through the
chunker straight into the blob saver as it is read; a SQLite database (by its header) is cut
into page blocks as a snapshot cuts it, so its pages deduplicate with later snapshots.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING

from snapkit.capture.chunker import Chunker
from snapkit.capture.nodes import node_from_tar
from snapkit.capture.sqlite import HEADER_BYTES, MIN_SIZE, PageChunker
from snapkit.format.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node, file_hasher
from snapkit.maintain.importer.stream import READ_ERRORS, Guarded
from snapkit.read.openclaw_archive import MANIFEST, MANIFEST_MAX
from snapkit.read.treewalk import Parts, UnsafeName, check_name

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver

#: The longest file name component (in bytes) file systems hold (Linux, macOS, NTFS: 255).
NAME_MAX = 255

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

def show(name: str) -> str:
    return name if name.isprintable() else repr(name)[1:-1]


class Dir:
    """A directory being assembled: its own header (if the archive had one) and children."""

    __slots__ = ("children", "node")

    def __init__(self, node: Node | None = None) -> None:
        self.node = node
        self.children: dict[str, Dir | Node] = {}

    def count(self) -> int:
        return sum(1 + (c.count() if isinstance(c, Dir) else 0) for c in self.children.values())


Item = Dir | Node


def lookup(root: Dir, parts: Parts) -> Item | None:
    item: Item = root
    for name in parts:
        if not isinstance(item, Dir):
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


class Collector:
    """Reads the members of an archive into a tree keyed by archive names."""

    def __init__(self, saver: BlobSaver, chunker: Chunker, checksums: Mapping[str, str]) -> None:
        self.saver = saver
        self.chunker = chunker
        self.checksums = checksums
        self.root = Dir()
        self.st = _State()

    def warn(self, message: str) -> None:
        self.st.warnings.append(message)

    # --------------------------------------------------------------- names

    def normalize(self, name: str, what: str = "") -> Parts | None:
        """Archive name → safe components (``()`` is the archive root), or None to drop."""
        shown = show(name)
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
                child = d.children[name] = Dir()
            elif not isinstance(child, Dir):
                above = "/".join(parts[: i + 1])
                self.warn(f"{shown}: {show(above)} is a {child.type} in the archive; entry "
                          "dropped (nothing is written through it)")
                return False
            d = child
        last = parts[-1]
        old = d.children.get(last)
        if isinstance(item, Dir):
            if isinstance(old, Dir):
                old.node = item.node  # a repeated directory header: its metadata is updated
                return True
            if old is not None:
                self.warn(f"{shown}: duplicate name; the directory replaces an earlier "
                          f"{old.type}")
        elif isinstance(old, Dir):
            n = old.count()
            self.warn(f"{shown}: duplicate name; the {item.type} replaces an earlier directory"
                      + (f" and its {n} entries" if n else ""))
        elif old is not None:
            self.warn(f"{shown}: duplicate name; the last entry wins")
        d.children[last] = item
        return True

    # --------------------------------------------------------------- members

    def member(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        shown = show(m.name)
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
            self.place(parts, Dir(node_from_tar(name, NODE_DIR, m)), shown)
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
        pages = PageChunker.for_header(_peek(f), m.size) if m.size >= MIN_SIZE else None
        cutter = pages if pages is not None else self.chunker
        for chunk in cutter.chunks(Guarded(f), m.size):  # type: ignore[arg-type]
            hasher.update(chunk)
            size += len(chunk)
            self.st.bytes_read += len(chunk)
            if is_manifest:  # saved at the end unless it is an openclaw backup's manifest
                content.append(self.saver.blob_id(chunk))
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
            self.warn(f"{shown}: symlink to the absolute path {show(target)} (kept as a link, "
                      "never followed)")
        elif _escapes(parts[:-1], target):
            self.warn(f"{shown}: symlink target {show(target)} escapes the archive (kept as a "
                      "link, never followed)")
        self.place(parts, node_from_tar(parts[-1], NODE_SYMLINK, m, target=target), shown)

    def hardlink(self, m: tarfile.TarInfo, parts: Parts, shown: str) -> None:
        target_parts = self.normalize(m.linkname, f"{shown}: hard link target")
        target = lookup(self.root, target_parts) if target_parts else None
        if not isinstance(target, Node) or target.type != NODE_FILE:
            if target_parts is not None:
                self.warn(f"{shown}: hard link to {show(m.linkname)}, which is not an earlier "
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


def _peek(f: IO[bytes]) -> bytes:
    """A member's first bytes without consuming them (b"" when they cannot be read now: the
    read that follows reports the error)."""
    peek = getattr(f, "peek", None)
    try:
        return bytes(peek(HEADER_BYTES)[:HEADER_BYTES]) if peek is not None else b""
    except READ_ERRORS:
        return b""
