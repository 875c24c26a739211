"""What the target already holds, against the snapshot: whether an entry a restore plans is
new, identical, or in the way (and whether the policy lets it be overwritten), and whether a
file's content is the snapshot's — looked at through directory descriptors, never through a
symlink. Shared by the restore's plan and its ``--verify``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import BinaryIO, Protocol

from snapkit.format.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node, file_hasher
from snapkit.read.created import LINK_TIMES, ROOT
from snapkit.read.dirfds import BINARY, NOFOLLOW, DirFds, SymlinkInTheWay
from snapkit.read.treewalk import Parts

#: How much of an existing file is hashed at a time, to tell whether it is the snapshot's.
HASH_READ = 1024 * 1024


class Chunker(Protocol):
    """Cuts a file's content as a snapshot did (``snapkit.capture.chunker.Chunker``): to tell
    whether a file already in the target is the snapshot's, and for ``verify``."""

    def chunks(self, stream: BinaryIO, size_hint: int) -> Iterator[bytes]: ...

    def blob_id(self, data: bytes) -> str:
        """The id the repository gives a chunk (keyed in an encrypted one)."""
        ...


def compare(prober: DirFds | None, parts: Parts, dest: str, node: Node, policy: str,
             chunker: Chunker) -> tuple[str, str]:
    """(action, conflict or "") for one destination, looked at through directory
    descriptors (no path length limit, no symlink followed) where the platform has them.

    A file or symlink already there with the snapshot's content is ``identical`` — or, when
    its mode, modification time or (for root) owner differ, ``metadata``: those are set again,
    the content left as it is (whatever the policy: they are part of what a restore restores;
    a restore killed after a file's content and before its metadata leaves such a file)."""
    try:
        if prober is not None:
            dfd, name = prober.parent_of(parts), parts[-1]
            st = os.lstat(name, dir_fd=dfd)
        else:
            dfd, name = None, dest
            st = os.lstat(dest)
    except FileNotFoundError:
        return "create", ""
    except (NotADirectoryError, SymlinkInTheWay):
        return ("overwrite", "") if policy == "always" else ("create", "a parent is not a dir")
    if stat.S_ISDIR(st.st_mode) and node.type == NODE_DIR:
        return "identical", ""
    if (
        stat.S_ISLNK(st.st_mode)
        and node.type == NODE_SYMLINK
        and (os.readlink(name, dir_fd=dfd) if dfd is not None else os.readlink(name))
        == node.target
    ):
        return _kept(st, node, policy)
    if (
        stat.S_ISREG(st.st_mode)
        and node.type == NODE_FILE
        and st.st_size == node.size
        and same_content(dfd, name, node, chunker)
    ):
        return ("overwrite", "") if policy == "always" else _kept(st, node, policy)
    if policy == "never":
        return "overwrite", "exists and differs"
    if stat.S_ISDIR(st.st_mode) and node.type != NODE_DIR and policy != "always":
        return "overwrite", "a directory is in the way"
    return "overwrite", ""


def _kept(st: os.stat_result, node: Node, policy: str) -> tuple[str, str]:
    """An entry with the snapshot's content: ``identical``, or ``metadata`` to set again —
    unless it has other hard links, which may lie outside the target and would change with it:
    then it is replaced (a new file, the links left as they were), which ``never`` forbids."""
    if not meta_differs(st, node):
        return "identical", ""
    if st.st_nlink > 1:
        return "overwrite", ("" if policy != "never" else "its mode, time or owner differ, and "
                             "it has other hard links, which setting them would change too")
    return "metadata", ""


def meta_differs(st: os.stat_result, node: Node) -> bool:
    """Whether an entry with the snapshot's content lacks the node's mode, modification time
    or (root only: only root restores owners) owner — those a restore sets."""
    if node.type == NODE_SYMLINK:
        if LINK_TIMES and st.st_mtime_ns != node.mtime_ns:
            return True
    elif stat.S_IMODE(st.st_mode) != node.mode or st.st_mtime_ns != node.mtime_ns:
        return True
    return ROOT and (st.st_uid, st.st_gid) != (node.uid, node.gid)


def same_content(dfd: int | None, name: str, node: Node, chunker: Chunker) -> bool:
    try:
        flags = os.O_RDONLY | NOFOLLOW | BINARY
        fd = os.open(name, flags, dir_fd=dfd) if dfd is not None else os.open(name, flags)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        if node.hash is not None:  # the whole content's hash, however the file was cut (a
            hasher = file_hasher()  # database in page blocks, the rest by content)
            while block := f.read(HASH_READ):
                hasher.update(block)
            return hasher.hexdigest() == node.hash
        ids = [chunker.blob_id(c) for c in chunker.chunks(f, node.size)]
    return tuple(ids) == node.content
