"""Layout detection: where an archive's names go. A ``snapkit export`` archive (its metadata
says how its names map back), an ``openclaw backup create`` archive (one top directory with
``manifest.json`` and ``payload/``), or any other tar (everything under a fallback root).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from snapkit.format.archive_meta import ArchiveMeta
from snapkit.format.model import NODE_FILE, Node
from snapkit.maintain.importer.collect import Collector, Dir
from snapkit.read.openclaw_archive import (
    MANIFEST,
    PAYLOAD,
    declared_sources,
    manifest_doc,
    relative_prefixes,
    source_parts,
)
from snapkit.read.treewalk import Parts


@dataclass(frozen=True)
class Layout:
    name: str
    prefixes: tuple[tuple[Parts, Parts], ...]  # archive prefix -> absolute prefix
    drop: frozenset[Parts] = frozenset()
    sources: tuple[str, ...] = ()  # recorded or declared sources (not yet checked)
    exact: bool = False  # sources recorded by snapkit: taken as they are
    relative: Parts | None = None  # openclaw payload/relative: no recorded base directory


def _snapkit_layout(meta: ArchiveMeta) -> Layout:
    sources = meta.sources
    parsed = [p for p in (source_parts(s) for s in sources) if p is not None]
    prefixes: tuple[tuple[Parts, Parts], ...]
    if meta.paths == "relative":
        prefixes = tuple(((p[-1] if p else "root",), p) for p in parsed)
    else:
        drives = sorted({p[0] for p in parsed if p and p[0].endswith(":")})
        prefixes = (*(((d[:-1],), (d,)) for d in drives), ((), ()))
    return Layout("snapkit", prefixes, sources=sources, exact=True)


def _openclaw_top(root: Dir) -> tuple[str, Dir] | None:
    """The archive root and its ``payload/`` when ``root`` has OpenClaw's shape: one top
    directory holding a ``manifest.json`` file and a ``payload/`` directory."""
    if len(root.children) != 1:
        return None
    (top, item), = root.children.items()
    if not isinstance(item, Dir):
        return None
    manifest = item.children.get(MANIFEST)
    payload = item.children.get(PAYLOAD)
    if not isinstance(manifest, Node) or manifest.type != NODE_FILE:
        return None
    if not isinstance(payload, Dir):
        return None
    return top, payload


def _openclaw_layout(top: str, payload: Dir, doc: Mapping[str, Any], fallback: Parts
                     ) -> Layout | None:
    prefixes: list[tuple[Parts, Parts]] = []
    if isinstance(payload.children.get("posix"), Dir):
        prefixes.append(((top, PAYLOAD, "posix"), ()))
    for windows in ("windows", "win32"):
        wdir = payload.children.get(windows)
        if isinstance(wdir, Dir):
            for drive, sub in wdir.children.items():
                if isinstance(sub, Dir) and len(drive) == 1 and drive.isalpha():
                    prefixes.append(((top, PAYLOAD, windows, drive), (drive.upper() + ":",)))
    relative: Parts | None = None
    if isinstance(payload.children.get("relative"), Dir):
        # Exact where an asset records the absolute source of a relative archive path; the
        # rest has no recorded base directory and goes below the fallback root.
        prefixes += relative_prefixes(doc, top)
        relative = (top, PAYLOAD, "relative")
        prefixes.append((relative, fallback))
    if not prefixes:
        return None
    return Layout("openclaw", tuple(prefixes), drop=frozenset({(top, MANIFEST)}),
                   relative=relative)


def choose_layout(col: Collector, meta: ArchiveMeta | None, fallback: Parts
                   ) -> tuple[Layout, dict[str, Any]]:
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
    return Layout("tar", (((), fallback),)), {}
