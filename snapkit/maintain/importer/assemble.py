"""Assembly: the archive-named tree moved to absolute paths by the layout, its tree objects
saved bottom-up, and the snapshot's sources worked out from what landed where.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from snapkit.format.model import NODE_DIR, NODE_FILE, Node, Tree, sort_nodes
from snapkit.format.paths import join_path
from snapkit.maintain.importer.collect import Dir, Item, lookup
from snapkit.maintain.importer.layout import Layout
from snapkit.read.openclaw_archive import source_parts
from snapkit.read.treewalk import Parts

if TYPE_CHECKING:
    from snapkit.store.saver import BlobSaver


class Assembler:
    """Moves the archive-named tree to absolute paths and saves the tree objects."""

    def __init__(self, saver: BlobSaver, layout: Layout, fallback: Parts,
                 warnings: list[str]) -> None:
        self.saver = saver
        self.layout = layout
        self.fallback = fallback
        self.warnings = warnings
        self.root = Dir()
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

    def run(self, rel_root: Dir) -> None:
        work: list[tuple[Parts, Item]] = [((), rel_root)]
        while work:
            parts, item = work.pop()
            if parts in self.layout.drop:
                continue
            container = any(len(k) > len(parts) and k[: len(parts)] == parts
                            for k, _ in self.keys)
            match = None if container else self._match(parts)
            mapped = None if match is None else match[1] + parts[len(match[0]):]
            if isinstance(item, Dir) and (container or mapped == ()):
                work.extend(((*parts, n), c) for n, c in item.children.items())
                continue
            if match is not None and match[0] == self.layout.relative:
                self.relative += 1 + (item.count() if isinstance(item, Dir) else 0)
            if mapped is None:
                mapped = self.fallback + parts
                self.unmapped += 1
            self.insert(mapped, item)

    def insert(self, parts: Parts, item: Item) -> None:
        d = self.root
        for name in parts[:-1]:
            child = d.children.get(name)
            if not isinstance(child, Dir):
                if child is not None:
                    self.warnings.append(f"{join_path(parts)}: {join_path(parts[:-1])} is "
                                         "not a directory; entry dropped")
                    return
                child = d.children[name] = Dir()
            d = child
        if not parts:  # the archive root itself (foreign tars: mapped to the fallback)
            return
        old = d.children.get(parts[-1])
        if isinstance(old, Dir) and isinstance(item, Dir):
            _merge(old, item)
            return
        if old is not None:
            self.warnings.append(f"{join_path(parts)}: two archive entries map here; the "
                                 "last one wins")
        d.children[parts[-1]] = item

    def save(self) -> tuple[str, dict[str, int]]:
        """Save every tree object bottom-up; return the root tree id and counts."""
        counts = {"files": 0, "dirs": 0, "symlinks": 0, "bytes": 0}
        ids: dict[int, tuple[str, int]] = {}  # id(Dir) -> (tree id, mtime for its node)
        work: list[tuple[Dir, bool]] = [(self.root, False)]
        while work:
            d, ready = work.pop()
            if not ready:
                work.append((d, True))
                work.extend((c, False) for c in d.children.values() if isinstance(c, Dir))
                continue
            nodes: list[Node] = []
            for name, c in d.children.items():
                if isinstance(c, Dir):
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


def _merge(dst: Dir, src: Dir) -> None:
    if src.node is not None:
        dst.node = src.node
    for name, item in src.children.items():
        old = dst.children.get(name)
        if isinstance(old, Dir) and isinstance(item, Dir):
            _merge(old, item)
        else:
            dst.children[name] = item


def _common_top(root: Dir) -> list[Parts]:
    """The common directory of each top-level group of files (a source per group)."""
    tops: list[Parts] = []
    for name, item in root.children.items():
        if not isinstance(item, Dir):
            continue
        prefix: Parts | None = None
        work: list[tuple[Parts, Dir]] = [((name,), item)]
        while work:
            parts, d = work.pop()
            if not d.children:
                prefix = _common(prefix, parts)
            for n, c in d.children.items():
                if isinstance(c, Dir):
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


def archive_sources(layout: Layout, asm: Assembler, fallback: Parts) -> tuple[str, ...]:
    if layout.name == "tar":
        return (join_path(fallback),)
    if layout.exact and layout.sources:
        out = list(layout.sources)
    else:
        declared = [p for p in (source_parts(s) for s in layout.sources) if p is not None]
        present = [p for p in declared if lookup(asm.root, p) is not None]
        tops = present or [p for p in _common_top(asm.root) if p[: len(fallback)] != fallback]
        out = [join_path(p) for p in _outermost(tops)]
    if (asm.unmapped or asm.relative) and join_path(fallback) not in out:
        out.append(join_path(fallback))
    return tuple(sorted(out))
