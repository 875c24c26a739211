"""What a prune must keep, found without changing anything: the index files read into one
index, and every blob the snapshots reach — and the damage that stops a prune.

Damage must never make data look unused: a damaged index file would hide the blobs only it
lists, a damaged manifest or an unreadable tree the blobs below it, a used blob whose only
copy is damaged would be repacked wrong. Each stops the prune (:func:`stop`) with one line
naming the damage and the repairs to run, in order (``snapkit repair index|packs|snapshots``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from snapkit.format.errors import IntegrityError
from snapkit.format.model import NODE_DIR, NODE_FILE, BlobEntry, content_id, decode_index_file
from snapkit.maintain.reachability import walk_reachable
from snapkit.store.backend import Backend
from snapkit.store.cipher import PLAIN, Cipher
from snapkit.store.index import Index
from snapkit.store.repository import Repository

Step = Callable[[str], None]


def read_index(
    backend: Backend, index_files: tuple[str, ...], cipher: Cipher = PLAIN
) -> tuple[Index, dict[str, dict[str, BlobEntry]], int]:
    """The index files read into one :class:`Index`, the blobs each pack lists (first listing
    kept), and how many listings repeated one already seen. A damaged index file stops prune:
    the blobs only it lists would look unused."""
    listed: dict[str, dict[str, BlobEntry]] = {}
    relisted = 0
    index = Index()
    for name in index_files:
        data = backend.load("index", name)
        try:
            if content_id(data) != name:
                raise IntegrityError("it does not match its id")
            entries, damaged = decode_index_file(
                cipher.open(data, "index", f"index file {name}"), name)
        except IntegrityError as exc:
            raise stop(f"index file {name} is damaged ({exc.message})", "index") from exc
        index.add(entries)
        index.add_damage(damaged)
        index.files.add(name)
        for e in entries:
            in_pack = listed.setdefault(e.pack, {})
            if e.id in in_pack:
                relisted += 1
            else:
                in_pack[e.id] = e
    return index, listed, relisted


def used_blobs(repo: Repository, snapshot_ids: list[str], step: Step) -> set[str]:
    """Every tree and data blob the snapshots reference (equal subtrees walked once)."""
    used: set[str] = set()

    def roots() -> Iterator[tuple[str, str]]:
        for n, sid in enumerate(snapshot_ids, 1):
            step(f"snapshots {n}/{len(snapshot_ids)}")
            try:
                yield sid, repo.load_snapshot(sid).tree
            except IntegrityError as exc:
                raise stop(f"snapshot {sid} is damaged ({exc.message})",
                            "snapshots --forget") from exc

    def visit(sid: str, tree_id: str, _where: str) -> list[tuple[str, str]]:
        _require(repo, sid, tree_id, "tree")
        used.add(tree_id)
        below: list[tuple[str, str]] = []
        try:
            tree = repo.load_tree(tree_id)
        except IntegrityError as exc:
            raise stop(f"snapshot {sid[:8]} references tree {tree_id}, which cannot be read "
                        f"({exc.message})", "packs", "snapshots") from exc
        for node in tree.nodes:
            if node.type == NODE_DIR and node.subtree:
                below.append((node.subtree, ""))
            elif node.type == NODE_FILE:
                for blob in node.content:
                    if blob not in used:
                        _require(repo, sid, blob, "data blob")
                        used.add(blob)
        return below

    walk_reachable(roots(), visit)
    return used


def _require(repo: Repository, sid: str, blob_id: str, what: str) -> None:
    if repo.index.is_damaged(blob_id):
        raise stop(f"snapshot {sid[:8]} references {what} {blob_id}, whose only copy is "
                    "damaged", "packs", "snapshots")
    if blob_id not in repo.index:
        raise stop(f"snapshot {sid[:8]} references {what} {blob_id}, which no index lists",
                    "index", "snapshots")


def stop(problem: str, *repairs: str) -> IntegrityError:
    """The one line prune stops with when damage hides what is used: the problem, and the
    repairs to run (in order) before prune can work again."""
    then = ", then ".join(f"`snapkit repair {r}`" for r in repairs)
    return IntegrityError(f"{problem}; prune stopped before changing anything: run {then}")
