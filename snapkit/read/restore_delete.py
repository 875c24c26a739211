"""``restore --delete``: what the target holds below the restored paths and the snapshot does
not, removed once the restore is clean (restic's ``restore --delete``).

Only the directories the restore covers below a snapshot source are looked at — the target's
``home/`` beside a restored ``home/me/.openclaw`` is never touched — and only entries the
restore's ``--include``/``--exclude`` would have selected are removed: an excluded file stays,
and with include patterns a directory the snapshot does not hold goes only once everything in
it did. Every step is relative to an open directory descriptor: no symlink is ever followed (a
symlink is removed as the link it is), no directory on another filesystem is entered (it is
listed as kept), and a partial file of a restore still running is left alone. With
``dry_run`` nothing is removed: the same walk lists what would be. Removal goes deepest first,
before the restore sets the directories' times, so the times it restores stay.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from snapkit.read.partials import is_orphan
from snapkit.read.restore_writer import NOFOLLOW, TEMP_PREFIX, DirFds, SymlinkInTheWay, dest_path
from snapkit.read.treewalk import Parts, original_path

#: ``(absolute original path, is_dir) -> selected``: the restore's path filter, or None.
Select = Callable[[str, bool], bool] | None
_OPEN_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
#: How deep below a directory of the restore an extra tree is walked (a Python stack frame a
#: level): deeper ones are kept, to be removed by hand.
MAX_DEPTH = 400


@dataclass(frozen=True)
class Extra:
    """An entry of the target that the snapshot does not hold: removed (in a dry run: to be),
    or kept, with the reason."""

    path: str  # in the target
    type: str  # "file", "dir", "symlink" or "other" (a socket, a device...)
    kept: str = ""  # why it was not removed ("" when it was)
    failed: bool = False  # kept because removing it failed (not by the rules above)


def covered_dirs(planned: Iterable[tuple[Parts, bool]], sources: Iterable[Parts],
                 ) -> dict[Parts, set[str]]:
    """The directories of the plan at or below a source, each with the names the restore
    puts in it: what ``--delete`` compares the target with. ``planned`` gives each planned
    entry's parts and whether it is a directory, parents first."""
    roots = set(sources)
    dirs: dict[Parts, set[str]] = {}
    for parts, is_dir in planned:
        names = dirs.get(parts[:-1])
        if names is not None:
            names.add(parts[-1])
        if is_dir and (parts in roots or names is not None):
            dirs[parts] = set()
    return dirs


@dataclass(frozen=True)
class _Walk:
    target: str
    select: Select
    includes: bool  # include patterns: a directory goes only once something in it did
    dry_run: bool
    depth: int = 0  # the depth of the restore's directory being compared


def remove_extras(target: str, follow_parts: int, dirs: dict[Parts, set[str]], select: Select,
                  includes: bool, dry_run: bool) -> list[Extra]:
    """Remove (``dry_run``: list) what ``dirs`` hold in the target beyond their names,
    deepest first."""
    fds = DirFds(target, follow_parts)
    if not fds.exists:
        return []
    try:
        out: list[Extra] = []
        for parts, names in dirs.items():
            try:
                fd = fds.dirfd(parts)
            except (FileNotFoundError, NotADirectoryError, SymlinkInTheWay):
                continue  # not there (a dry run's new directory): nothing to compare with
            here = _Walk(target, select, includes, dry_run, len(parts))
            for name in sorted(set(os.listdir(fd)) - names):
                out += _extra(here, fd, (*parts, name))[0]
        return out
    finally:
        fds.close()


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "symlink" if stat.S_ISLNK(mode) else "other"


def _extra(walk: _Walk, parent: int, parts: Parts) -> tuple[list[Extra], bool]:
    """One extra entry of the directory ``parent`` (a directory: its content first): what
    was removed or kept, and whether the entry is gone (or, in a dry run, would be). One
    that cannot be removed (no permission, ...) is kept, marked ``failed``."""
    name, shown = parts[-1], dest_path(walk.target, parts)
    try:
        kind = _kind(os.lstat(name, dir_fd=parent).st_mode)
    except FileNotFoundError:
        return [], True  # gone meanwhile
    if walk.select is not None and not walk.select(original_path(parts), kind == "dir"):
        return [], False  # outside what the restore selected: not the restore's to remove
    try:
        if kind == "dir":
            return _extra_dir(walk, parent, parts, shown)
        if name.startswith(TEMP_PREFIX) and not is_orphan(name, TEMP_PREFIX):
            return [Extra(shown, kind, "a partial file of a restore still running")], False
        if not walk.dry_run:
            os.unlink(name, dir_fd=parent)
        return [Extra(shown, kind)], True
    except OSError as exc:
        return [Extra(shown, kind, _cannot(exc), True)], False


def _extra_dir(walk: _Walk, parent: int, parts: Parts, shown: str,
               ) -> tuple[list[Extra], bool]:
    if len(parts) - walk.depth > MAX_DEPTH:
        why = f"nested over {MAX_DEPTH} levels deep: remove it by hand"
        return [Extra(shown, "dir", why)], False
    fd = os.open(parts[-1], _OPEN_DIR, dir_fd=parent)
    try:
        if os.fstat(fd).st_dev != os.fstat(parent).st_dev:
            return [Extra(shown, "dir", "another filesystem is mounted there")], False
        inside: list[Extra] = []
        gone = True
        for child in sorted(os.listdir(fd)):
            extras, child_gone = _extra(walk, fd, (*parts, child))
            inside += extras
            gone = gone and child_gone
    finally:
        os.close(fd)
    if any(e.kept for e in inside):
        return [*inside, Extra(shown, "dir", "it holds entries that are kept")], False
    if not gone or (walk.includes and not inside):
        return inside, False  # it holds what the filters leave out, or nothing they select
    if not walk.dry_run:
        try:
            os.rmdir(parts[-1], dir_fd=parent)
        except OSError as exc:  # what was in it is gone: say so, and why it stays
            return [*inside, Extra(shown, "dir", _cannot(exc), True)], False
    return [*inside, Extra(shown, "dir")], True


def _cannot(exc: OSError) -> str:
    return f"cannot remove it: {exc.strerror or exc}"
