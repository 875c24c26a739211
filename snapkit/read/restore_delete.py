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

Unlike restic's, it never removes what the snapshot did not try to hold (a :class:`Scope`,
built by ``ops.restore``): a path the manifest lists as skipped, a special file (a FIFO, a
socket, a device), a symlink when the snapshot skipped symlinks, and an entry its exclusion
rules leave out (a ``node_modules``, a log) — those rebuilt from the current configuration
for the mode the snapshot was taken in, with each directory's ``.snapkitignore`` read from the
target. Such an entry is kept and listed (``Extra.out_of_scope``); an excluded directory is
kept whole, not entered. A source whose rules cannot be rebuilt (they came from ``snap``'s
command line, or from an imported archive) keeps everything below it that the snapshot does
not hold, unless the restore was given ``--exclude`` patterns to stand for them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from snapkit.read.dirfds import NOFOLLOW, DirFds, SymlinkInTheWay, dest_path
from snapkit.read.partials import is_orphan
from snapkit.read.restore_writer import TEMP_PREFIX
from snapkit.read.treewalk import Parts, original_path

if TYPE_CHECKING:  # (the rules are imported by the caller that builds a Scope)
    from snapkit.select.rules import Matcher

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
    #: kept because the snapshot never tried to hold it (excluded by its rules, skipped,
    #: a special file): not a warning, unlike the other reasons
    out_of_scope: bool = False


@dataclass(frozen=True)
class SourceScope:
    """How the snapshot selected below one of its sources, as far as that can be known."""

    root: Parts
    matcher: Matcher | None  # the source's rules, rebuilt (None: no rules applied)
    unknown: str = ""  # why its rules cannot be rebuilt ("": they can): keep all, say this


@dataclass(frozen=True)
class Scope:
    """What the snapshot tried to hold: what ``--delete`` may remove is inside it."""

    sources: tuple[SourceScope, ...] = ()
    #: absolute original paths the snapshot left out by name, with why (the manifest's
    #: skipped entries; the repository, when inside a source)
    left_out: Mapping[str, str] = field(default_factory=dict)
    symlinks_skipped: bool = False  # the snapshot's symlink policy was "skip"

    def source(self, parts: Parts) -> SourceScope | None:
        """The innermost source at or above ``parts``."""
        best: SourceScope | None = None
        for src in self.sources:
            if parts[: len(src.root)] == src.root and (
                    best is None or len(src.root) > len(best.root)):
                best = src
        return best

    def why_left_out(self, parts: Parts, st: os.stat_result, matcher: Matcher | None) -> str:
        """Why the snapshot never held the target's entry ``parts`` (``st``: its lstat,
        ``matcher``: its directory's rules), "" when it would have: see the module
        docstring."""
        mode = st.st_mode
        why = self.left_out.get(original_path(parts))
        if why:
            return f"skipped by the snapshot: {why}"
        special = _special(mode)
        if special:
            return f"a {special}: a snapshot never holds one"
        if stat.S_ISLNK(mode) and self.symlinks_skipped:
            return "a symlink: the snapshot skipped symlinks (config \"symlinks\": \"skip\")"
        src = self.source(parts)
        if src is None:
            return ""
        if src.unknown:
            return src.unknown
        if matcher is None:
            return ""
        rel = "/".join(parts[len(src.root):])
        is_dir = stat.S_ISDIR(mode)
        rule = matcher.excluded(rel, is_dir, None if is_dir else st.st_size)
        return f"excluded by the snapshot's rules ({rule})" if rule else ""


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISBLK(mode) or stat.S_ISCHR(mode):
        return "device"
    return ""


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
    scope: Scope
    depth: int = 0  # the depth of the restore's directory being compared


def remove_extras(target: str, follow_parts: int, dirs: dict[Parts, set[str]], select: Select,
                  includes: bool, dry_run: bool, scope: Scope | None = None) -> list[Extra]:
    """Remove (``dry_run``: list) what ``dirs`` hold in the target beyond their names and
    inside the snapshot's ``scope`` (None: all but special files), deepest first."""
    fds = DirFds(target, follow_parts)
    if not fds.exists:
        return []
    scope = scope or Scope()  # (no sources: special files are still kept)
    try:
        out: list[Extra] = []
        rules: dict[Parts, Matcher | None] = {}  # each directory's, .snapkitignore layered
        for parts, names in dirs.items():
            try:
                fd = fds.dirfd(parts)
            except (FileNotFoundError, NotADirectoryError, SymlinkInTheWay):
                continue  # not there (a dry run's new directory): nothing to compare with
            here = _Walk(target, select, includes, dry_run, scope, len(parts))
            listing = set(os.listdir(fd))
            matcher = _dir_rules(scope, rules, parts, fd, listing)
            for name in sorted(listing - names):
                out += _extra(here, fd, (*parts, name), matcher)[0]
        return out
    finally:
        fds.close()


def _dir_rules(scope: Scope, rules: dict[Parts, Matcher | None], parts: Parts, fd: int,
               listing: set[str]) -> Matcher | None:
    """The rules of the restore's directory ``parts``: its parent's (its source's, for a
    source), with its own ``.snapkitignore``."""
    src = scope.source(parts)
    if src is None:
        return None
    matcher = src.matcher if parts == src.root else rules.get(parts[:-1], src.matcher)
    rules[parts] = matcher = _layered(matcher, src, parts, fd, listing)
    return matcher


def _layered(matcher: Matcher | None, src: SourceScope, parts: Parts, fd: int,
             listing: Iterable[str]) -> Matcher | None:
    """``matcher`` with the patterns of the directory's ``.snapkitignore``, as ``snap``
    layers them."""
    from snapkit.select.rules import IGNORE_FILE

    if matcher is None or IGNORE_FILE not in listing:
        return matcher
    try:  # (never blocking on a FIFO of that name)
        handle = os.open(IGNORE_FILE, os.O_RDONLY | NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError:
        return matcher
    with open(handle, encoding="utf-8", errors="surrogateescape") as f:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return matcher
        lines = f.read().splitlines()
    return matcher.child("/".join(parts[len(src.root):]), lines)


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "symlink" if stat.S_ISLNK(mode) else "other"


def _extra(walk: _Walk, parent: int, parts: Parts, matcher: Matcher | None,
           ) -> tuple[list[Extra], bool]:
    """One extra entry of the directory ``parent`` (``matcher``: its rules; a directory: its
    content first): what was removed or kept, and whether the entry is gone (or, in a dry
    run, would be). One that cannot be removed (no permission, ...) is kept, marked
    ``failed``; one the snapshot never tried to hold is kept, marked ``out_of_scope``."""
    name, shown = parts[-1], dest_path(walk.target, parts)
    try:
        st = os.lstat(name, dir_fd=parent)
    except FileNotFoundError:
        return [], True  # gone meanwhile
    kind = _kind(st.st_mode)
    if walk.select is not None and not walk.select(original_path(parts), kind == "dir"):
        return [], False  # outside what the restore selected: not the restore's to remove
    left_out = walk.scope.why_left_out(parts, st, matcher)
    if left_out:
        return [Extra(shown, kind, left_out, out_of_scope=True)], False
    try:
        if kind == "dir":
            return _extra_dir(walk, parent, parts, shown, matcher)
        if name.startswith(TEMP_PREFIX) and not is_orphan(name, TEMP_PREFIX):
            return [Extra(shown, kind, "a partial file of a restore still running")], False
        if not walk.dry_run:
            os.unlink(name, dir_fd=parent)
        return [Extra(shown, kind)], True
    except OSError as exc:
        return [Extra(shown, kind, _cannot(exc), True)], False


def _extra_dir(walk: _Walk, parent: int, parts: Parts, shown: str, matcher: Matcher | None,
               ) -> tuple[list[Extra], bool]:
    if len(parts) - walk.depth > MAX_DEPTH:
        why = f"nested over {MAX_DEPTH} levels deep: remove it by hand"
        return [Extra(shown, "dir", why)], False
    fd = os.open(parts[-1], _OPEN_DIR, dir_fd=parent)
    try:
        if os.fstat(fd).st_dev != os.fstat(parent).st_dev:
            return [Extra(shown, "dir", "another filesystem is mounted there")], False
        listing = sorted(os.listdir(fd))
        src = walk.scope.source(parts)
        if src is not None:
            matcher = _layered(matcher, src, parts, fd, listing)
        inside: list[Extra] = []
        gone = True
        for child in listing:
            extras, child_gone = _extra(walk, fd, (*parts, child), matcher)
            inside += extras
            gone = gone and child_gone
    finally:
        os.close(fd)
    kept = [e for e in inside if e.kept]
    if kept:
        if all(e.out_of_scope for e in kept):
            why = "it holds entries the snapshot left out"
            return [*inside, Extra(shown, "dir", why, out_of_scope=True)], False
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
