"""Repository verification: structure always, every byte with ``read_data``.

Checks that every index entry points into an existing pack whose trailer lists the same blob
at the same place, that every snapshot manifest matches its id and every tree and data blob
it references is indexed (and, with ``read_data``, that every pack hashes to its id and every
blob decodes to bytes that hash to its id). Problems that lose data are errors; leftovers an
interrupted run can leave (temp files, unreferenced packs, stale locks) are notes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from snapkit.format.errors import IntegrityError
from snapkit.format.model import (
    KIND_DATA,
    KIND_TREE,
    NODE_DIR,
    NODE_FILE,
    Node,
    content_id,
    decode_pack_trailer,
    decode_tree,
)
from snapkit.maintain.reachability import child_path, walk_reachable
from snapkit.read.treewalk import check_name
from snapkit.store import codec
from snapkit.store.backend import NotFound
from snapkit.store.pack import FOOTER, parse_pack, read_trailer
from snapkit.store.repository import Repository


@dataclass
class CheckReport:
    packs: int = 0
    blobs: int = 0
    snapshots: int = 0
    trees: int = 0
    files: int = 0
    bytes_read: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_repository(
    repo: Repository, read_data: bool = False, on_step: Callable[[str], None] | None = None
) -> CheckReport:
    report = CheckReport()
    step = on_step or (lambda _msg: None)
    step("packs")
    _check_packs(repo, report, read_data)
    step("snapshots")
    _check_snapshots(repo, report)
    return report


def _check_packs(repo: Repository, report: CheckReport, read_data: bool) -> None:
    backend = repo.backend
    on_disk = set(backend.list("packs"))
    by_pack: dict[str, list[tuple[str, int, int, int]]] = {}
    for e in repo.index:
        by_pack.setdefault(e.pack, []).append((e.id, e.kind, e.offset, e.length))
    report.blobs = len(repo.index)
    for pack in sorted(set(by_pack) - on_disk):
        report.errors.append(f"pack {pack} is in the index but missing "
                             f"({len(by_pack[pack])} blobs lost)")
    unindexed = on_disk - set(by_pack)
    if unindexed:
        report.notes.append(f"{len(unindexed)} pack(s) not in any index (left by an "
                            "interrupted run; their data is unused)")
    for pack in sorted(on_disk & set(by_pack)):
        report.packs += 1
        try:
            if read_data:
                data = backend.load("packs", pack)
                report.bytes_read += len(data)
                if content_id(data) != pack:
                    report.errors.append(f"pack {pack} does not match its id (damaged)")
                    continue
                entries = parse_pack(pack, data)
                for e in entries:
                    stored = data[e.offset: e.offset + e.length]
                    plain = codec.decode(stored, e.raw_length)
                    if content_id(plain) != e.id:
                        report.errors.append(f"blob {e.id} in pack {pack} is damaged")
            else:
                size = backend.size("packs", pack)
                length = read_trailer(pack, backend.load("packs", pack, size - FOOTER.size,
                                                          FOOTER.size))
                start = size - FOOTER.size - length
                entries = decode_pack_trailer(backend.load("packs", pack, start, length), pack)
        except (IntegrityError, NotFound) as exc:
            report.errors.append(getattr(exc, "message", str(exc)))
            continue
        listed = {(e.id, e.kind, e.offset, e.length) for e in entries}
        for item in by_pack[pack]:
            if item not in listed:
                report.errors.append(f"index lists blob {item[0]} in pack {pack}, but the "
                                     "pack's trailer does not")


def _check_snapshots(repo: Repository, report: CheckReport) -> None:
    def roots() -> Iterator[tuple[str, str]]:
        for sid in repo.snapshot_ids():
            report.snapshots += 1
            try:
                snap = repo.load_snapshot(sid)
            except IntegrityError as exc:
                report.errors.append(f"snapshot {sid}: {exc.message}")
                continue
            yield sid, snap.tree

    def visit(sid: str, tree_id: str, where: str) -> list[tuple[str, str]]:
        entry = repo.index.get(tree_id)
        if entry is None or entry.kind != KIND_TREE:
            report.errors.append(f"snapshot {sid[:8]}: tree {tree_id} ({where}) is missing")
            return []
        try:
            tree = decode_tree(repo.load_blob(tree_id))
        except IntegrityError as exc:
            report.errors.append(f"snapshot {sid[:8]}: tree at {where}: {exc.message}")
            return []
        report.trees += 1
        below: list[tuple[str, str]] = []
        for node in tree.nodes:
            try:
                check_name(node.name, ())
            except IntegrityError as exc:
                report.errors.append(f"snapshot {sid[:8]}: {exc.message}")
                continue
            path = child_path(where, node.name)
            if node.type == NODE_DIR and node.subtree:
                below.append((node.subtree, path))
            elif node.type == NODE_FILE:
                report.files += 1
                _check_file(repo, report, sid, path, node)
        return below

    walk_reachable(roots(), visit)


def _check_file(repo: Repository, report: CheckReport, sid: str, path: str, node: Node) -> None:
    """Every data blob of a file node is indexed, and together they hold its size."""
    total = 0
    for blob in node.content:
        e = repo.index.get(blob)
        if e is None or e.kind != KIND_DATA:
            report.errors.append(f"snapshot {sid[:8]}: {path}: data blob {blob} is missing")
            return
        total += e.raw_length
    if total != node.size:
        report.errors.append(f"snapshot {sid[:8]}: {path}: its chunks hold {total} bytes, "
                             f"the node says {node.size}")
