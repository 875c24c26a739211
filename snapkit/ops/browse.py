"""``show``, ``ls``, ``cat`` and ``find``: look inside snapshots.

Each opens the repository under the shared read lock (:func:`snapkit.ops.repo.reading`) and
resolves the snapshot selector; ``show`` returns the manifest, while ``ls``, ``cat`` and
``find`` stream what they find (entries, content blocks, matches) to a callback as they read
it, so the lock is held until the last one is handed over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from snapkit.format.errors import UsageError
from snapkit.format.model import NODE_FILE, Node, Snapshot
from snapkit.maintain.selection import resolve
from snapkit.ops.events import OnEvent, ignore
from snapkit.ops.repo import Location, reading
from snapkit.read.browse import Found, list_entries, resolve_path
from snapkit.read.browse import find as find_paths
from snapkit.select.rules import path_matches


@dataclass(frozen=True)
class ShowResult:
    snapshot_id: str
    snapshot: Snapshot


def show(location: Location, snapshot: str, *, no_lock: bool = False,
         on_event: OnEvent = ignore) -> ShowResult:
    """The manifest of ``snapshot`` (a selector)."""
    with reading(location, no_lock, "show", on_event) as repo:
        sid, snap = resolve(snapshot, repo.snapshots())
    return ShowResult(sid, snap)


def ls(location: Location, snapshot: str, path: str | None, on_entry: Callable[[str, Node], None],
       *, recursive: bool = False, no_lock: bool = False, on_event: OnEvent = ignore) -> None:
    """Hand each entry of ``snapshot`` at ``path`` (absolute, or relative to a source; default:
    each source) to ``on_entry`` as ``(path, node)``; with ``recursive``, subdirectories too."""
    with reading(location, no_lock, "ls", on_event) as repo:
        _, snap = resolve(snapshot, repo.snapshots())
        targets = [path] if path else list(snap.sources)
        for target in targets:
            parts, node = resolve_path(repo.load_tree, snap, target)
            for p, n in list_entries(repo.load_tree, parts, node, recursive):
                on_entry(p, n)


def cat(location: Location, snapshot: str, path: str, write: Callable[[bytes], object], *,
        no_lock: bool = False, on_event: OnEvent = ignore) -> None:
    """Hand the content of the file at ``path`` in ``snapshot`` to ``write``, block by block."""
    with reading(location, no_lock, "cat", on_event) as repo:
        _, snap = resolve(snapshot, repo.snapshots())
        _, node = resolve_path(repo.load_tree, snap, path)
        if node.type != NODE_FILE:
            raise UsageError(
                f"{path} is a {node.type}, not a file; use `snapkit ls` for directories")
        for block in repo.read_blobs(node.content):
            write(block)


def find(location: Location, pattern: str, on_found: Callable[[Found], None], *,
         snapshot: str | None = None, no_lock: bool = False,
         on_event: OnEvent = ignore) -> int:
    """Hand each path matching ``pattern`` (gitignore-style) in every snapshot (or only
    ``snapshot``) to ``on_found``; the number found."""
    with reading(location, no_lock, "find", on_event) as repo:
        every = repo.snapshots()
        pairs = [resolve(snapshot, every)] if snapshot else list(every)
        hits = 0
        for f in find_paths(repo.load_tree, pairs, path_matches(pattern)):
            hits += 1
            on_found(f)
    return hits
