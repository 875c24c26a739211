"""Export a snapshot as a standard tar archive (tar.gz, tar.zst or plain tar).

The export walks the stored tree with ``treewalk`` — the same walk restore uses — and differs
only in the sink: a PAX-format tar stream. Entries come sorted, each directory before its
contents, with modes, owners and nanosecond mtimes; recorded symlinks are symlinks. Nothing
depends on the time of export, and gzip is written by ISA-L with a fixed header (mtime 0, no
name), so the same snapshot and options always give the same bytes.

Snapshot metadata (id, sources, host, time, mode, snapkit version) and an xxh3-128 checksum
per file go in the ``comment`` record of the PAX global header, which every extractor ignores
without a warning; :mod:`snapkit.read.archive_verify` checks an archive against it.

On a damaged repository the export writes what it can and leaves out the rest, never a member
that lies: each file's content is read back whole (in memory up to 64 MiB, beyond that in a
temporary file, :mod:`snapkit.read.tar_sink`) before its header is written; a file that cannot
be read, or a directory whose tree cannot be loaded (with everything below it), is left out
and listed in ``ExportResult.omitted`` and in a final PAX global header naming the omitted
entries (:mod:`snapkit.format.archive_meta`), which ``verify-archive`` reports as omitted.
With ``fail_fast`` content streams from the store one chunk at a time (memory does not grow
with file size) and the first damage is raised.

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
from typing import BinaryIO

from snapkit import __version__
from snapkit.format.archive_meta import PAX_RECORD, ArchiveMeta, Omitted
from snapkit.format.errors import IntegrityError, UsageError
from snapkit.format.model import (
    NODE_DIR,
    NODE_FILE,
    NODE_SYMLINK,
    Node,
    Snapshot,
    Tree,
)
from snapkit.format.paths import split_path
from snapkit.read import openclaw_archive
from snapkit.read.compressors import compressor
from snapkit.read.openclaw_format import PAYLOAD, payload_parts
from snapkit.read.readahead import ReadAhead
from snapkit.read.tar_sink import (
    ContentReader,
    Members,
    Records,
    Spooled,
    read_verified,
    tarinfo,
)
from snapkit.read.treewalk import (
    BlobReader,
    Entry,
    Failed,
    Parts,
    damage_selected,
    find_node,
    iter_tree,
    or_empty,
    original_path,
    select_entries,
)
from snapkit.read.write_progress import COUNTED_FROM, HeldMembers, counted
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
    fail_fast: bool = False  # stream, and raise at the first damage (else: omit and list it)


@dataclass(frozen=True)
class ExportResult:
    """What an archive holds: entries by type, content bytes, and every member name in order."""

    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    bytes: int = 0
    names: tuple[str, ...] = ()
    #: what was left out because the repository could not give it (entry names), by name
    omitted: tuple[Failed, ...] = ()


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


def _absolute_name(parts: Parts) -> str:
    """The stored path as an entry name (a drive letter's colon dropped: ``C:`` is ``C``)."""
    if parts and parts[0].endswith(":"):
        return "/".join((parts[0][:-1], *parts[1:]))
    return "/".join(parts)


def _namer(snap: Snapshot, paths: str) -> Callable[[Parts], str | None]:
    """Entry name for a stored path, or None to leave the entry out (relative mode)."""
    if paths == "absolute":
        return _absolute_name
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
    load_tree: Callable[[str], Tree], snap: Snapshot, opts: ExportOptions,
    lost: list[tuple[Parts, str]] | None = None,
) -> list[tuple[Parts, Node]]:
    """The stored (path, node) pairs an export holds, in archive order; with ``lost``, a
    directory whose tree cannot be loaded is left out and, if selected, added to it (with
    the error)."""
    damaged: list[tuple[Parts, str]] = []
    entries: list[Entry] = [e for e in iter_tree(load_tree, snap.tree, on_damage=(
        (lambda parts, _node, exc: damaged.append((parts, str(exc)))) if lost is not None
        else None)) if not e[2]]
    tests: list[Callable[[Parts, Node], bool]] = []
    if opts.mode_subset is not None:
        tests.append(_mode_select(snap, opts.mode_subset))
        entries = select_entries(entries, tests[-1], keep_dirs=False)
    if opts.includes or opts.excludes:
        test = path_filter(opts.includes, opts.excludes)
        tests.append(lambda parts, node: test(original_path(parts), node.type == NODE_DIR))
        entries = select_entries(entries, tests[-1], keep_dirs=not opts.includes)
    if lost is not None:
        lost += [d for d in damaged if all(damage_selected(d[0], t) for t in tests)]
    return [(parts, node) for parts, node, _ in entries]


def plan_export(
    load_tree: Callable[[str], Tree], snap: Snapshot, opts: ExportOptions,
    lost: list[tuple[str, str]] | None = None,
) -> list[tuple[str, Node]]:
    """The (entry name, node) pairs of an export in the default layout, in archive order;
    with ``lost``, the unreadable directories (name, error) are left out and listed there."""
    name_of = _namer(snap, opts.paths)
    out: list[tuple[str, Node]] = []
    damaged: list[tuple[Parts, str]] | None = [] if lost is not None else None
    for parts, node in _selected(load_tree, snap, opts, damaged):
        name = name_of(parts)
        if name:
            out.append((name, node))
    if lost is not None and damaged:
        lost += [(name, why) for p, why in damaged if (name := name_of(p))]
    return out


def plan_openclaw(load_tree: Callable[[str], Tree], snap_id: str, snap: Snapshot,
                  opts: ExportOptions, lost: list[tuple[str, str]] | None = None,
                  ) -> openclaw_archive.Layout:
    """The export in OpenClaw's backup layout (see :mod:`snapkit.read.openclaw_archive`)."""
    if opts.paths != "absolute":
        raise UsageError("--paths relative does not apply to --layout openclaw (its names are "
                         "always <root>/payload/posix/<absolute path>)")
    damaged: list[tuple[Parts, str]] | None = [] if lost is not None else None
    selected = _selected(load_tree, snap, opts, damaged)
    look = or_empty(load_tree, []) if lost is not None else load_tree  # damage listed above
    layout = openclaw_archive.plan_layout(
        snap_id, snap, selected,
        lambda parts: find_node(look, snap.tree, parts) if parts else None,
        lambda parts: _dir_names(look, snap.tree, parts),
        opts.mode or snap.mode)
    if lost is not None and damaged:
        lost += [("/".join((layout.root, PAYLOAD, *payload_parts(p))), why)
                 for p, why in damaged]
    return layout


def _plan(load_tree: Callable[[str], Tree], snap_id: str, snap: Snapshot, opts: ExportOptions,
          lost: list[tuple[str, str]] | None,
          ) -> tuple[openclaw_archive.Layout | None, list[tuple[str, Node]], ArchiveMeta]:
    """The layout (OpenClaw's, or None), the entries and the metadata of an export."""
    if opts.layout not in LAYOUTS:
        raise UsageError(f"unknown layout {opts.layout!r}; use {' or '.join(LAYOUTS)}")
    layout = (plan_openclaw(load_tree, snap_id, snap, opts, lost) if opts.layout == "openclaw"
              else None)
    plan = layout.entries if layout is not None else plan_export(load_tree, snap, opts, lost)
    checksums = {name: node.hash or "" for name, node in plan if node.type == NODE_FILE}
    if layout is not None:  # the manifest is checked too
        checksums[layout.manifest_name] = layout.manifest_node.hash or ""
    return layout, plan, metadata(snap_id, snap, opts, checksums)


def export_snapshot(
    load_tree: Callable[[str], Tree],
    read_blobs: BlobReader,
    snap_id: str,
    snap: Snapshot,
    out: BinaryIO,
    opts: ExportOptions,
    on_file: Callable[[str, int], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write the archive to ``out`` (not closed); see the module docstring for damage.
    ``on_plan`` is told how many files (and content bytes) the archive will hold, once
    planned; ``on_file`` is called with each file's name and size once it is written."""
    opts = replace(opts, format=normalize_format(opts.format))
    lost: list[tuple[str, str]] | None = None if opts.fail_fast else []
    layout, plan, meta = _plan(load_tree, snap_id, snap, opts, lost)
    contents = [(node.content, node.size) for _, node in plan if node.type == NODE_FILE]
    if on_plan is not None:
        on_plan(len(contents), sum(size for _, size in contents))
    omitted = [Failed(name, "dir", f"directory left out, its listing cannot be read: {why}")
               for name, why in lost or ()]
    stream, finish, abandon = compressor(out, opts.format, opts.gzip_level, opts.zstd_level,
                                         opts.threads)
    counts = {NODE_FILE: 0, NODE_DIR: 0, NODE_SYMLINK: 0}
    content_bytes = 0
    names: list[str] = []
    # the stream mode's writes without its copying (gzip: its output depends on them)
    # a big file's bytes counted as they are read back and as its member is written
    track = HeldMembers(stream, on_file, any(size >= COUNTED_FROM for _, size in contents))
    records = Records(track.sink, records=opts.format == "tar.gz")
    tar = tarfile.open(fileobj=records, mode="w", format=tarfile.PAX_FORMAT,  # noqa: SIM115
                       pax_headers={PAX_RECORD: meta.encode()}, encoding="utf-8",
                       errors="surrogateescape")
    members = Members(tar, hold_last=not opts.fail_fast)
    ahead = ReadAhead(read_blobs, contents)
    complete = False
    try:
        for name, node in plan:
            info = tarinfo(name, node)
            if node.type == NODE_FILE and opts.fail_fast:
                _stream_file(tar, info, counted(ahead.next_file(), track.progress, node.size,
                                                name, tick=True), node)
            elif node.type == NODE_FILE:
                try:
                    spool = read_verified(track.reading(ahead.next_file(), node.size, name),
                                          node, name)
                except IntegrityError as exc:  # nothing of it was written
                    omitted.append(Failed(name, "file", str(exc)))
                    continue
                track.write(members.add, info, spool)
            else:
                track.write(members.add, info)
            if node.type == NODE_FILE:
                content_bytes += node.size
                track.done(name, node.size, held=not opts.fail_fast)
            counts[node.type if node.type in counts else NODE_SYMLINK] += 1
            names.append(info.name)
        if layout is not None:  # last, as OpenClaw writes it
            track.write(members.add, tarinfo(layout.manifest_name, layout.manifest_node),
                        Spooled.holding(layout.manifest))
            names.append(layout.manifest_name)
        track.write(members.finish,
                    {PAX_RECORD: meta.encode(_omissions(omitted))} if omitted else None)
        complete = True
    finally:
        ahead.close()
        members.discard()
        if complete:  # the end of the archive only after all of it
            try:
                tar.close()
                records.close()
                finish()
            except BaseException:  # (an interrupt while the last blocks are flushed)
                abandon()
                raise
        else:
            abandon()
    return ExportResult(counts[NODE_FILE], counts[NODE_DIR], counts[NODE_SYMLINK], content_bytes,
                        tuple(names), tuple(sorted(omitted, key=lambda f: f.path)))


def _stream_file(tar: tarfile.TarFile, info: tarfile.TarInfo, chunks: Iterator[bytes],
                 node: Node) -> None:
    """Write a file's member as its chunks come (``fail_fast``): damage raises mid-member."""
    reader = ContentReader(chunks)
    tar.addfile(info, io.BufferedReader(reader, 1024 * 1024))
    if node.hash and reader.hasher.hexdigest() != node.hash:
        raise IntegrityError(f"{info.name}: stored content does not match its checksum")


def _omissions(omitted: list[Failed]) -> list[Omitted]:
    return [Omitted(f.path, f.type, f.reason) for f in omitted]
