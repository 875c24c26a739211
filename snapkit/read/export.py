"""Export a snapshot as a standard tar archive (tar.gz, tar.zst or plain tar).

The export walks the stored tree with ``treewalk`` — the same walk restore uses — and differs
only in the sink: a PAX-format tar stream. Entries come sorted, each directory before its
contents, with modes, owners and nanosecond mtimes; recorded symlinks are symlinks. Nothing
depends on the time of export, and gzip is written by ISA-L with a fixed header (mtime 0, no
name), so the same snapshot and options always give the same bytes.

Snapshot metadata (id, sources, host, time, mode, snapkit version) and an xxh3-128 checksum
per file go in the ``comment`` record of the PAX global header, which every extractor ignores
without a warning; :mod:`snapkit.read.archive_verify` checks an archive against it. Content streams
from the store one chunk at a time, so memory does not grow with file or snapshot size.

Two layouts: ``snapkit`` (entry names are the absolute paths without the leading ``/``, or
rooted at each source's name) and ``openclaw`` — the layout and ``manifest.json`` of
``openclaw backup create`` (:mod:`snapkit.read.openclaw_archive`), written last as OpenClaw does, so
``openclaw backup verify`` and ``restore`` accept the archive.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import IO, Any, BinaryIO

import zstandard

from snapkit import __version__
from snapkit.format.archive_meta import PAX_RECORD, ArchiveMeta
from snapkit.format.errors import IntegrityError, UsageError
from snapkit.format.model import (
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    Node,
    Snapshot,
    Tree,
    file_hasher,
)
from snapkit.format.paths import split_path
from snapkit.read import openclaw_archive
from snapkit.read.treewalk import (
    BlobReader,
    Entry,
    Parts,
    find_node,
    iter_tree,
    original_path,
    select_entries,
)
from snapkit.select.rules import Matcher, path_filter

FORMATS = ("tar.gz", "tar.zst", "tar")
LAYOUTS = ("snapkit", "openclaw")
_ALIASES = {"tgz": "tar.gz", "tar.gz": "tar.gz", "tar.zst": "tar.zst", "tzst": "tar.zst",
            "tar": "tar"}


def normalize_format(name: str) -> str:
    fmt = _ALIASES.get(name.lower().lstrip("."))
    if fmt is None:
        raise UsageError(f"unknown export format {name!r}; use tar.gz, tgz, tar.zst or tar")
    return fmt


def format_from_filename(filename: str) -> str | None:
    low = filename.lower()
    for suffix in (".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar"):
        if low.endswith(suffix):
            return _ALIASES[suffix[1:]]
    return None


def isal_level(gzip_level: int) -> int:
    """Map the familiar gzip scale 0–9 onto ISA-L's levels 0–3."""
    if gzip_level <= 0:
        return 0
    return 1 if gzip_level <= 3 else 2 if gzip_level <= 6 else 3


@dataclass(frozen=True)
class ExportOptions:
    format: str = "tar.gz"
    #: with ``mode``: how that mode selects from each source (``sources.mode_subset``)
    mode_subset: Mapping[str, Matcher | None] | None = None
    mode: str | None = None  # the mode named on the command line (recorded in the metadata)
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    paths: str = "absolute"  # "absolute" | "relative"
    layout: str = "snapkit"  # "snapkit" | "openclaw" (OpenClaw's backup layout and manifest)
    gzip_level: int = 6
    zstd_level: int = 3
    threads: int = 2


@dataclass(frozen=True)
class ExportResult:
    """What an archive holds: entries by type, content bytes, and every member name in order."""

    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    bytes: int = 0
    names: tuple[str, ...] = ()


# ------------------------------------------------------------------ selection and naming


def _mode_select(
    snap: Snapshot, per_source: Mapping[str, Matcher | None]
) -> Callable[[Parts, Node], bool]:
    """A snapshot's subset for a mode, given how that mode selects from each of its sources
    (``sources.mode_subset``: the same rule a snapshot taken in that mode follows)."""
    roots = [(split_path(src), matcher) for src, matcher in per_source.items()]

    def select(parts: Parts, node: Node) -> bool:
        for root, matcher in roots:
            if parts[: len(root)] == root:
                if matcher is None:
                    return False
                if len(parts) == len(root):
                    return True
                rel = "/".join(parts[len(root):])
                return matcher.excluded(rel, node.type == NODE_DIR) is None
        # a directory above a source that is taken
        return any(m is not None and root[: len(parts)] == parts for root, m in roots)

    return select


def _dir_names(load_tree: Callable[[str], Tree], root: str, parts: Parts) -> set[str]:
    node = find_node(load_tree, root, parts) if parts else Node("", NODE_DIR, 0, 0, subtree=root)
    if node is None or node.type != NODE_DIR or not node.subtree:
        return set()
    return {n.name for n in load_tree(node.subtree).nodes}


def _namer(snap: Snapshot, paths: str) -> Callable[[Parts], str | None]:
    """Entry name for a stored path, or None to leave the entry out (relative mode)."""
    if paths == "absolute":
        return lambda parts: "/".join(
            (p[:-1] if i == 0 and p.endswith(":") else p) for i, p in enumerate(parts)
        )
    if paths != "relative":
        raise UsageError("--paths must be absolute or relative")
    roots = sorted((split_path(s) for s in snap.sources), key=len)
    seen: dict[str, Parts] = {}
    for root in roots:
        name = root[-1] if root else "root"
        if name in seen and seen[name] != root:
            raise UsageError(
                f"--paths relative would merge two sources named {name!r}; export with "
                "--paths absolute"
            )
        seen[name] = root

    def name_of(parts: Parts) -> str | None:
        for root in roots:
            if parts[: len(root)] == root and len(parts) >= max(len(root), 1):
                return "/".join(((root[-1] if root else "root"), *parts[len(root):]))
        return None

    return name_of


# ------------------------------------------------------------------ the tar sink


class _ContentReader(io.RawIOBase):
    """A file object over a node's chunks, hashing what is read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self.hasher = file_hasher()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buf = chunk
            self.hasher.update(self._buf)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _mtime_fields(ns: int) -> tuple[int, dict[str, str]]:
    sec, frac = divmod(ns, 1_000_000_000)
    if not frac:
        return sec, {}
    # PAX times are a signed decimal: before 1970, -1.5 s is "-1.5" (not floor "-2" + ".5").
    whole, part = divmod(abs(ns), 1_000_000_000)
    sign = "-" if ns < 0 else ""
    return sec, {"mtime": f"{sign}{whole}.{part:09d}".rstrip("0")}


def _tarinfo(name: str, node: Node) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name + "/" if node.type == NODE_DIR else name)
    sec, pax = _mtime_fields(node.mtime_ns)
    info.mtime = sec
    info.pax_headers = pax
    info.mode = node.mode
    info.uid, info.gid = node.uid, node.gid
    info.uname, info.gname = node.user, node.group
    if node.type == NODE_DIR:
        info.type = tarfile.DIRTYPE
    elif node.type == NODE_SYMLINK:
        info.type = tarfile.SYMTYPE
        info.linkname = node.target or ""
    else:
        info.type = tarfile.REGTYPE
        info.size = node.size
    return info


def metadata(snap_id: str, snap: Snapshot, opts: ExportOptions,
             checksums: dict[str, str]) -> ArchiveMeta:
    return ArchiveMeta(
        snapshot=snap_id, sources=tuple(snap.sources), hostname=snap.hostname,
        username=snap.username, time_ns=snap.time_ns, snapshot_mode=snap.mode,
        mode=opts.mode or snap.mode, tags=tuple(snap.tags),
        paths="relative" if opts.paths == "relative" else "absolute",
        layout="openclaw" if opts.layout == "openclaw" else "snapkit",
        files=checksums, program_version=__version__)


def _selected(
    load_tree: Callable[[str], Tree], snap: Snapshot, opts: ExportOptions
) -> list[tuple[Parts, Node]]:
    """The stored (path, node) pairs an export holds, in archive order."""
    entries: list[Entry] = [e for e in iter_tree(load_tree, snap.tree) if not e[2]]
    if opts.mode_subset is not None:
        entries = select_entries(entries, _mode_select(snap, opts.mode_subset), keep_dirs=False)
    if opts.includes or opts.excludes:
        test = path_filter(opts.includes, opts.excludes)
        entries = select_entries(
            entries, lambda parts, node: test(original_path(parts), node.type == NODE_DIR),
            keep_dirs=not opts.includes,
        )
    return [(parts, node) for parts, node, _ in entries]


def plan_export(
    load_tree: Callable[[str], Tree], snap: Snapshot, opts: ExportOptions
) -> list[tuple[str, Node]]:
    """The (entry name, node) pairs of an export in the default layout, in archive order."""
    name_of = _namer(snap, opts.paths)
    out: list[tuple[str, Node]] = []
    for parts, node in _selected(load_tree, snap, opts):
        name = name_of(parts)
        if name:
            out.append((name, node))
    return out


def plan_openclaw(load_tree: Callable[[str], Tree], snap_id: str, snap: Snapshot,
                  opts: ExportOptions) -> openclaw_archive.Layout:
    """The export in OpenClaw's backup layout (see :mod:`snapkit.read.openclaw_archive`)."""
    if opts.paths != "absolute":
        raise UsageError("--paths relative does not apply to --layout openclaw (its names are "
                         "always <root>/payload/posix/<absolute path>)")
    return openclaw_archive.plan_layout(
        snap_id, snap, _selected(load_tree, snap, opts),
        lambda parts: find_node(load_tree, snap.tree, parts) if parts else None,
        lambda parts: _dir_names(load_tree, snap.tree, parts),
        opts.mode or snap.mode)


def _compressor(out: BinaryIO, opts: ExportOptions) -> tuple[IO[bytes], Callable[[], None]]:
    if opts.format == "tar.gz":
        from isal import igzip_threaded

        gz = igzip_threaded.open(  # type: ignore[no-untyped-call]
            out, "wb", compresslevel=isal_level(opts.gzip_level),
            threads=max(1, opts.threads))
        return gz, gz.close
    if opts.format == "tar.zst":
        cctx = zstandard.ZstdCompressor(level=opts.zstd_level, write_checksum=True)
        zw = cctx.stream_writer(out, closefd=False)
        return zw, zw.close
    return out, lambda: None


def export_snapshot(
    load_tree: Callable[[str], Tree],
    read_blobs: BlobReader,
    snap_id: str,
    snap: Snapshot,
    out: BinaryIO,
    opts: ExportOptions,
    on_file: Callable[[str, int], None] | None = None,
) -> ExportResult:
    """Stream the archive to ``out`` (not closed)."""
    opts = replace(opts, format=normalize_format(opts.format))
    if opts.layout not in LAYOUTS:
        raise UsageError(f"unknown layout {opts.layout!r}; use {' or '.join(LAYOUTS)}")
    layout = plan_openclaw(load_tree, snap_id, snap, opts) if opts.layout == "openclaw" else None
    plan = layout.entries if layout is not None else plan_export(load_tree, snap, opts)
    checksums = {name: node.hash or "" for name, node in plan if node.type == NODE_FILE}
    if layout is not None:  # the manifest is checked too
        checksums[layout.manifest_name] = layout.manifest_node.hash or ""
    meta = metadata(snap_id, snap, opts, checksums).encode()
    stream, finish = _compressor(out, opts)
    counts = {NODE_FILE: 0, NODE_DIR: 0, NODE_SYMLINK: 0}
    content_bytes = 0
    names: list[str] = []
    tar = tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT,  # noqa: SIM115
                       pax_headers={PAX_RECORD: meta}, encoding="utf-8",
                       errors="surrogateescape")
    try:
        for name, node in plan:
            info = _tarinfo(name, node)
            if node.type == NODE_FILE:
                reader = _ContentReader(read_blobs(node.content))
                tar.addfile(info, io.BufferedReader(reader, 1024 * 1024))
                if node.hash and reader.hasher.hexdigest() != node.hash:
                    raise IntegrityError(f"{name}: stored content does not match its checksum")
                content_bytes += node.size
                if on_file is not None:
                    on_file(name, node.size)
            else:
                tar.addfile(info)
            counts[node.type if node.type in counts else NODE_SYMLINK] += 1
            names.append(info.name)
        if layout is not None:  # last, as OpenClaw writes it
            tar.addfile(_tarinfo(layout.manifest_name, layout.manifest_node),
                        io.BytesIO(layout.manifest))
            names.append(layout.manifest_name)
    finally:
        tar.close()
        finish()
    return ExportResult(counts[NODE_FILE], counts[NODE_DIR], counts[NODE_SYMLINK], content_bytes,
                        tuple(names))
