"""Restore a snapshot into a directory: plan first, then write, never outside the target.

The plan pass walks the stored tree (names checked by ``treewalk``), applies the path filter
and compares each entry with what the target already holds (``restore_compare``), so a
conflict under ``--overwrite never`` is reported before a single byte is written. The write
pass creates directories and files relative to open directory descriptors with
``O_NOFOLLOW``, so a symlink planted in the target is never followed; each file is checked
chunk by chunk against its ids as it is written — where something may be in the way, to a
temp name renamed into place (``restore_writer``) — by worker threads, several files at once,
their outcomes taken back in plan order (``restore_files``); with ``fail_fast`` one at a time
in plan order, the next ones read ahead (``readahead``). Memory does not grow with file size.

Damage does not stop a restore (restic's behaviour): a file whose content cannot be read back
(:class:`~snapkit.format.errors.IntegrityError`, a ``BlobUnreadable`` among them) leaves
nothing in the target — what it wrote is removed, and a file that was there stays as it was —
and a directory whose tree cannot be loaded is not created, nothing below it being known; each
goes to ``RestoreResult.failed`` and the restore goes on with the rest. ``fail_fast`` raises
at the first damage instead.

With ``delete``, once every file is written and nothing failed, what the target holds below
the snapshot's sources beyond the plan (and within its filters) is removed, before the
directories get their times back (``restore_delete``); a restore that failed anywhere removes
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple, NoReturn

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
from snapkit.read.dirfds import DIRFD, DirFds, dest_path
from snapkit.read.readahead import ReadAhead
from snapkit.read.restore_compare import Chunker as Chunker
from snapkit.read.restore_compare import compare, same_content
from snapkit.read.restore_files import ParallelFiles
from snapkit.read.restore_target import check_target, raise_named
from snapkit.read.restore_writer import TEMP_PREFIX as TEMP_PREFIX
from snapkit.read.restore_writer import Writer
from snapkit.read.treewalk import (
    BlobReader,
    Entry,
    Failed,
    Parts,
    damage_selected,
    iter_tree,
    original_path,
    select_entries,
)
from snapkit.read.write_progress import counted, write_progress

if TYPE_CHECKING:  # ``restore --delete`` only: imported when it runs (see _delete)
    from snapkit.read.restore_delete import Extra, Scope

Overwrite = Literal["never", "if-changed", "always"]
OVERWRITE_POLICIES: tuple[Overwrite, ...] = ("never", "if-changed", "always")
KEPT = ("identical", "metadata")  # actions that leave a file's content as it is


@dataclass(frozen=True)
class RestoreOptions:
    target: str  # directory; "/" (or a drive root) with in_place
    in_place: bool = False
    overwrite: Overwrite = "never"
    dry_run: bool = False
    includes: tuple[str, ...] = ()  # gitignore-style, against the original absolute path
    excludes: tuple[str, ...] = ()
    fail_fast: bool = False  # raise at the first damage (else: restore the rest, list it)
    verify: bool = False  # read every file written back and compare it with the snapshot
    delete: bool = False  # remove what the target holds below the sources beyond the snapshot
    scope: Scope | None = None  # with delete: what the snapshot tried to hold (None: all)


class Action(NamedTuple):
    """One entry of the plan: what happens to it, where (a ``NamedTuple``: cheap to build)."""

    parts: Parts
    node: Node
    action: str  # "create" | "overwrite" | "identical" | "metadata" (see restore_compare)
    dest: str


@dataclass(frozen=True)
class RestoreResult:
    """What a restore wrote (with ``dry_run``: would write), and the plan it followed."""

    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    bytes: int = 0
    identical: int = 0  # already there with the snapshot's content
    metadata: int = 0  # of those, the ones whose mode, time or owner were set again
    #: partial files that an interrupted earlier restore had left in the target, removed
    leftovers_removed: int = 0
    actions: tuple[Action, ...] = ()
    #: what could not be restored (damaged content, unreadable directories), by path
    failed: tuple[Failed, ...] = ()
    #: files read back and found equal to the snapshot (``verify``)
    verified: int = 0
    #: ``delete``: what the target held beyond the snapshot, removed (in a dry run: to be)
    #: or kept with the reason; nothing when the restore was not clean (``delete_skipped``)
    extras: tuple[Extra, ...] = ()
    delete_skipped: bool = False

    @property
    def deleted(self) -> int:
        return sum(1 for e in self.extras if not e.kept)


@dataclass
class _Tally:
    """The counts while the actions are carried out (frozen into a RestoreResult at the end)."""

    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    bytes: int = 0
    identical: int = 0
    metadata: int = 0
    verified: int = 0
    failed: list[Failed] = field(default_factory=list)
    opts: RestoreOptions = RestoreOptions("")  # the target an error names (``named``)

    def count(self, a: Action, size: int) -> None:
        if a.node.type == NODE_DIR:
            self.dirs += 1
        elif a.action in KEPT:
            self.identical += 1
            self.metadata += a.action == "metadata"
        elif a.node.type == NODE_SYMLINK:
            self.symlinks += 1
        else:
            self.files += 1
            self.bytes += size

    def done(self, a: Action, outcome: int | Exception,
             on_file: Callable[[str, int], None] | None) -> None:
        """A file written (its size), or not: damaged (listed), or another error (raised)."""
        if isinstance(outcome, int):  # written (only files come here)
            self.files += 1
            self.bytes += outcome
            if on_file is not None:
                on_file(a.dest, outcome)
            return
        if isinstance(outcome, IntegrityError):  # nothing was written (see the docstring)
            self.failed.append(Failed(a.dest, "file", str(outcome)))
            return
        if isinstance(outcome, OSError):  # named by its destination, not its temp name
            self.named(outcome, a.dest)
        raise outcome

    def named(self, exc: OSError, dest: str) -> NoReturn:
        raise_named(exc, dest, self.opts.target, self.opts.in_place)

    def result(self, actions: Sequence[Action], leftovers_removed: int = 0,
               extras: Sequence[Extra] = (), delete_skipped: bool = False) -> RestoreResult:
        return RestoreResult(self.files, self.dirs, self.symlinks, self.bytes, self.identical,
                             self.metadata, leftovers_removed, tuple(actions),
                             tuple(sorted(self.failed, key=lambda f: f.path)), self.verified,
                             tuple(extras), delete_skipped)


def _follow_parts(snap: Snapshot, opts: RestoreOptions) -> int:
    """Leading path components that may be symlinks: with ``--in-place`` the directories
    above each source are the system's own."""
    if not opts.in_place:
        return 0
    return min((len(split_path(s)) - 1 for s in snap.sources), default=0)


def plan_restore(
    load_tree: Callable[[str], Tree], snap: Snapshot, opts: RestoreOptions, chunker: Chunker,
    failed: list[Failed] | None = None,
) -> list[Action]:
    """Every entry to restore with what will happen to it; raise on conflicts (nothing written).

    A directory whose tree cannot be loaded is added to ``failed`` (unless ``fail_fast``, or
    ``failed`` is None: then the error is raised)."""
    if opts.overwrite not in OVERWRITE_POLICIES:
        raise UsageError(f"--overwrite must be one of {', '.join(OVERWRITE_POLICIES)}")
    if opts.delete and not DIRFD:
        raise UsageError("--delete needs directory descriptors, which this platform lacks; "
                         "restore into an empty --target instead")
    if not opts.in_place:
        check_target(opts.target)
    entries = _walk(load_tree, snap, opts, failed)
    actions: list[Action] = []
    conflicts: list[str] = []
    created: set[Parts] = set()  # directories this restore creates: nothing below exists yet
    dir_dests: dict[Parts, str] = {}
    prober = DirFds(opts.target, _follow_parts(snap, opts)) if DIRFD else None
    all_new = prober is not None and not prober.exists
    try:
        for parts, node, leaving in entries:
            if leaving:
                continue
            parent = parts[:-1]
            above = dir_dests.get(parent)
            dest = (dest_path(opts.target, parts) if above is None
                    else os.path.join(above, parts[-1]))
            if all_new or parent in created:
                action, problem = "create", ""
            else:
                action, problem = compare(prober, parts, dest, node, opts.overwrite, chunker)
            if node.type == NODE_DIR:
                dir_dests[parts] = dest
                if action == "create":
                    created.add(parts)
            if problem:
                conflicts.append(f"{dest} ({problem})")
            actions.append(Action(parts, node, action, dest))
    finally:
        if prober is not None:
            prober.close()
    if conflicts:
        more = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
        fix = ("--overwrite always" if opts.overwrite == "if-changed"
               else "--overwrite if-changed (or always)")
        raise UsageError(
            f"restore would overwrite {conflicts[0]}{more}; nothing was written — pass "
            f"{fix} to replace them, or restore into an empty --target"
        )
    return actions


def _walk(load_tree: Callable[[str], Tree], snap: Snapshot, opts: RestoreOptions,
          failed: list[Failed] | None) -> list[Entry]:
    """The selected entries; the selected unreadable directories go to ``failed``."""
    damaged: list[tuple[Parts, Exception]] = []
    tolerant = failed is not None and not opts.fail_fast
    entries = list(iter_tree(load_tree, snap.tree, on_damage=(
        (lambda parts, _node, exc: damaged.append((parts, exc))) if tolerant else None)))
    if not opts.includes and not opts.excludes:
        for parts, exc in damaged:
            if failed is not None:
                failed.append(_damaged_dir(opts, parts, exc))
        return entries
    from snapkit.select.rules import path_filter  # only with filters: most restores have none

    select = path_filter(opts.includes, opts.excludes)

    def test(parts: Parts, node: Node) -> bool:
        return select(original_path(parts), node.type == NODE_DIR)

    entries = select_entries(entries, test, keep_dirs=not opts.includes)
    for parts, exc in damaged:
        if failed is not None and damage_selected(parts, test):
            failed.append(_damaged_dir(opts, parts, exc))
    return entries


def _damaged_dir(opts: RestoreOptions, parts: Parts, exc: Exception) -> Failed:
    return Failed(dest_path(opts.target, parts), "dir",
                  f"directory not restored, its listing cannot be read: {exc}")


def restore_snapshot(
    load_tree: Callable[[str], Tree],
    read_blobs: BlobReader,
    snap: Snapshot,
    opts: RestoreOptions,
    chunker: Chunker,
    on_file: Callable[[str, int], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> RestoreResult:
    """Plan, then (unless ``dry_run``) write; see the module docstring. ``on_plan`` is told
    how many files (and bytes) will be written, once planned."""
    tally = _Tally(opts=opts)
    actions = plan_restore(load_tree, snap, opts, chunker, tally.failed)
    if on_plan is not None:
        todo = [a.node.size for a in actions
                if a.node.type == NODE_FILE and a.action not in KEPT]
        on_plan(len(todo), sum(todo))
    if opts.dry_run:
        for a in actions:
            tally.count(a, a.node.size)
        extras = _delete(snap, opts, actions) if opts.delete and not tally.failed else []
        return tally.result(actions, extras=extras, delete_skipped=opts.delete and bool(
            tally.failed))
    try:
        writer = Writer(opts.target, _follow_parts(snap, opts), {
            a.parts for a in actions if a.parts[-1].startswith(TEMP_PREFIX)})
    except OSError as exc:
        raise_named(exc, opts.target, opts.target, opts.in_place)
    extras = []
    try:
        dirs = (_write_in_order if opts.fail_fast else _write_in_parallel)(
            writer, read_blobs, actions, tally, on_file)
        if opts.delete and not tally.failed:  # only after a clean restore (restic's rule)
            extras = _delete(snap, opts, actions)
        for a in reversed(dirs):  # deepest first, so setting an mtime is not undone by a child
            try:
                writer.set_meta(a.parts, a.node)
            except OSError as exc:
                raise_named(exc, a.dest, opts.target, opts.in_place)
    finally:
        writer.close()
    if opts.verify:
        _verify(actions, tally, chunker)
    return tally.result(actions, writer.leftovers, extras, opts.delete and bool(tally.failed))


def _delete(snap: Snapshot, opts: RestoreOptions, actions: Sequence[Action]) -> list[Extra]:
    """``delete``: the target's entries below the sources that the plan does not hold, and
    that its filters select, removed (``dry_run``: listed); see ``restore_delete``."""
    from snapkit.read.restore_delete import covered_dirs, remove_extras

    select = None
    if opts.includes or opts.excludes:
        from snapkit.select.rules import path_filter

        select = path_filter(opts.includes, opts.excludes)
    dirs = covered_dirs(((a.parts, a.node.type == NODE_DIR) for a in actions),
                        (split_path(s) for s in snap.sources))
    return remove_extras(opts.target, _follow_parts(snap, opts), dirs, select,
                         bool(opts.includes), opts.dry_run, opts.scope)


def _verify(actions: Sequence[Action], tally: _Tally, chunker: Chunker) -> None:
    """``--verify``: each file written, read back from the target (never through a symlink)
    and compared with the snapshot's content; one that differs is listed as failed."""
    failed = {f.path for f in tally.failed}
    for a in actions:
        if a.node.type != NODE_FILE or a.action in KEPT or a.dest in failed:
            continue
        if same_content(None, a.dest, a.node, chunker):
            tally.verified += 1
        else:
            tally.failed.append(Failed(a.dest, "file", "written, but reading it back from the "
                                       "target gives other content (check the target's disk)"))


def _write_other(writer: Writer, a: Action, tally: _Tally, dirs: list[Action]) -> bool:
    """Carry out an action that is not a file to write (False: it is one)."""
    node = a.node
    if node.type == NODE_DIR:
        writer.mkdir(a.parts)
        dirs.append(a)
    elif a.action in KEPT:
        if a.action == "metadata":
            writer.set_meta(a.parts, node)
    elif node.type == NODE_SYMLINK:
        writer.symlink(a.parts, node.target or "")
        writer.set_meta(a.parts, node)
    else:  # a file, for the caller to write; nothing else is planned (see plan_restore)
        return node.type != NODE_FILE
    tally.count(a, 0)
    return True


def _write_in_order(writer: Writer, read_blobs: BlobReader, actions: Sequence[Action],
                    tally: _Tally, on_file: Callable[[str, int], None] | None) -> list[Action]:
    """``fail_fast``: each file written in turn (the next ones read ahead); the first damage
    is raised, nothing after it written. The directories created are returned."""
    dirs: list[Action] = []
    progress = write_progress(on_file)  # a big file's bytes shown as they are written
    with ReadAhead(read_blobs, [(a.node.content, a.node.size) for a in actions
                                if a.node.type == NODE_FILE and a.action not in KEPT]) as ahead:
        for a in actions:
            try:
                if not _write_other(writer, a, tally, dirs):
                    chunks = counted(ahead.next_file(), progress, a.node.size, a.dest, tick=True)
                    tally.done(a, writer.write_file(a.parts, chunks, a.node), on_file)
            except OSError as exc:
                tally.named(exc, a.dest)
            except IntegrityError as exc:  # the first damage, named by the file it costs
                raise IntegrityError(f"could not restore {a.dest}: {exc}") from exc
    return dirs


def _write_in_parallel(writer: Writer, read_blobs: BlobReader, actions: Sequence[Action],
                       tally: _Tally, on_file: Callable[[str, int], None] | None,
                       ) -> list[Action]:
    """Files written by worker threads (``restore_files``), damaged ones listed; the
    directories created are returned."""
    dirs: list[Action] = []
    with ParallelFiles[Action](read_blobs, progress=write_progress(on_file)) as files:
        for a in actions:
            try:
                added = not _write_other(writer, a, tally, dirs) and files.add(
                    a, writer.prepare(a.parts, own_fd=True), a.node)
            except OSError as exc:
                tally.named(exc, a.dest)
            if added:
                for done, outcome in files.finished():
                    tally.done(done, outcome, on_file)
        for done, outcome in files.finished(wait=True):
            tally.done(done, outcome, on_file)
    return dirs
