"""The lstat-only traversal of a source tree.

``walk()`` yields events in a fixed order (entries sorted by name): entering and leaving
directories, files, symlinks, entries skipped with a reason, and entries excluded by a rule.
The snapshot builder and the dry-run report consume the same events, so both select exactly
the same files. From ``walk_batched()`` (the snapshot builder) a run of regular files of one
directory (up to :data:`BATCH_FILES`) comes as one :class:`Files` event instead of one
:class:`File` each, in the same place in the order: no object is made per file for a caller
that compares a directory's ``lstat`` results at once. Symbolic links (and Windows reparse
points such as junctions) are never followed; sockets, FIFOs and devices are reported as
skipped. A file or directory that vanishes between listing and reading is reported as
``vanished`` and the walk goes on.
"""

from __future__ import annotations

import errno
import operator
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol, cast

from snapkit.format.model import Skipped

IGNORE_FILE = ".snapkitignore"
_VANISHED = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


class Matcher(Protocol):
    """What the walker needs from the exclusion rules (see ``snapkit.select.rules``)."""

    def excluded(self, relpath: str, is_dir: bool, size: int | None = None) -> str | None: ...

    def child(self, dir_relpath: str, ignore_lines: list[str]) -> Matcher: ...

    @property
    def markers(self) -> tuple[str, ...]: ...

    @property
    def one_file_system(self) -> bool: ...

    def marked(self, dir_path: str, listing: frozenset[str]) -> str | None: ...


class Entry(NamedTuple):
    """One filesystem entry as seen by lstat (a named tuple: one is made per entry walked)."""

    path: str  # absolute path on this machine
    relpath: str  # POSIX-style path relative to the source root ("" for the root)
    name: str
    kind: str  # "file" | "dir" | "symlink"
    st: os.stat_result
    target: str | None = None  # symlink target


@dataclass(frozen=True)
class Enter:
    entry: Entry
    names: frozenset[str] = frozenset()  # every name in the directory, selected or not


@dataclass(frozen=True)
class Leave:
    entry: Entry


@dataclass(frozen=True)
class File:
    entry: Entry


@dataclass(frozen=True)
class Files:
    """Regular files of one directory, in walk order (:func:`walk_batched`): the file
    ``name`` is at ``base + name``, relative path ``rel_base + name``."""

    base: str
    rel_base: str
    items: list[tuple[str, os.stat_result]]  # (name, lstat), not excluded by a rule

    def entry(self, name: str, st: os.stat_result) -> Entry:
        """The :class:`Entry` a :class:`File` event would carry for ``name``."""
        return Entry(self.base + name, self.rel_base + name, name, "file", st)


@dataclass(frozen=True)
class Link:
    entry: Entry


@dataclass(frozen=True)
class Skip:
    skipped: Skipped


@dataclass(frozen=True)
class Excluded:
    path: str
    relpath: str
    rule: str
    is_dir: bool
    files: int  # regular files excluded (1 for a file; counted inside a directory if measured)
    bytes: int


Event = Enter | Leave | File | Link | Skip | Excluded
BatchEvent = Event | Files

_SPECIAL = (
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISBLK, "device"),
    (stat.S_ISCHR, "device"),
)


_REPARSE = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0) if os.name == "nt" else 0


_IS_REG = stat.S_ISREG
#: The most files a :class:`Files` event holds (a huge directory comes in several).
BATCH_FILES = 1024


def is_link(st: os.stat_result) -> bool:
    """A symlink, or on Windows any reparse point (junctions, mount points)."""
    if stat.S_ISLNK(st.st_mode):
        return True
    return bool(_REPARSE and getattr(st, "st_file_attributes", 0) & _REPARSE)


def classify(st: os.stat_result) -> str:
    """'file', 'dir', 'symlink', or the reason a special file is skipped."""
    mode = st.st_mode
    if stat.S_ISREG(mode) and not _REPARSE:
        return "file"
    if is_link(st):
        return "symlink"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    for test, reason in _SPECIAL:
        if test(st.st_mode):
            return reason
    return "special"


def read_link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError as exc:
        return f"<unreadable: {exc.strerror}>"


def _error_skip(path: str, exc: OSError) -> Skipped:
    if exc.errno in _VANISHED:
        return Skipped(path, "vanished", "")
    return Skipped(path, "unreadable", exc.strerror or str(exc))


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def walk(
    root: str,
    matcher: Matcher | None = None,
    *,
    measure_excluded: bool = False,
) -> Iterator[Event]:
    """Walk ``root`` (an absolute path). A root that is itself a symlink is followed once."""
    return cast("Iterator[Event]", _walk(root, matcher, measure_excluded, batch=False))


def walk_batched(root: str, matcher: Matcher | None = None) -> Iterator[BatchEvent]:
    """:func:`walk`, each run of regular files of a directory as one :class:`Files` event."""
    return _walk(root, matcher, False, batch=True)


def _walk(root: str, matcher: Matcher | None, measure: bool,
          batch: bool) -> Iterator[BatchEvent]:
    try:
        st = os.stat(root)
    except OSError as exc:
        yield Skip(_error_skip(root, exc))
        return
    kind = classify(st)
    name = os.path.basename(root.rstrip(os.sep)) or root
    entry = Entry(root, "", name, kind, st)
    if kind == "dir":
        yield from _walk_dir(entry, matcher, measure, batch, top=True)
    elif kind == "file":
        yield File(entry)
    else:
        yield Skip(Skipped(root, kind, ""))


_FD_WALK = os.name != "nt" and os.listdir in os.supports_fd and os.stat in os.supports_dir_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
#: os.fsencode of a name, as one C call (names sort by their bytes on disk)
_FS_KEY = operator.methodcaller("encode", sys.getfilesystemencoding(),
                                sys.getfilesystemencodeerrors())


def _sorted(names: list[str]) -> list[str]:
    """``names`` in the order of their bytes on disk (of ``os.fsencode``): as strings when
    all are ASCII (the same order), else by their encoding."""
    if "".join(names).isascii():
        names.sort()
        return names
    return sorted(names, key=_FS_KEY)


def _list(dir_entry: Entry, top: bool) -> tuple[list[str], list[os.stat_result | OSError]]:
    """The directory's names, sorted, and the lstat of each (or the error it gave).

    On POSIX the directory is opened without following a symlink and checked to be the very
    directory lstat saw (device and inode), and its entries are stat'ed relative to that
    descriptor: a directory swapped for a symlink mid-walk is never walked through.
    """
    if not _FD_WALK:
        with os.scandir(dir_entry.path) as it:
            names = _sorted([e.name for e in it])
        return names, [_lstat(os.path.join(dir_entry.path, n)) for n in names]
    flags = _DIR_FLAGS if top else _DIR_FLAGS | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(dir_entry.path, flags)
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (dir_entry.st.st_dev, dir_entry.st.st_ino):
            raise FileNotFoundError(errno.ENOENT, "replaced while the snapshot ran",
                                    dir_entry.path)
        names = _sorted(os.listdir(fd))
        lstat = os.stat
        out: list[os.stat_result | OSError] = []
        for name in names:
            try:
                out.append(lstat(name, dir_fd=fd, follow_symlinks=False))
            except OSError as exc:
                out.append(exc)
        return names, out
    finally:
        os.close(fd)


def _lstat(path: str) -> os.stat_result | OSError:
    try:
        return os.lstat(path)
    except OSError as exc:
        return exc


def _walk_dir(
    dir_entry: Entry, matcher: Matcher | None, measure: bool, batch: bool, top: bool = False
) -> Iterator[BatchEvent]:
    try:
        names, stats = _list(dir_entry, top)
    except OSError as exc:
        yield Skip(_error_skip(dir_entry.path, exc))
        return
    listing = frozenset(names)
    if not top and matcher is not None and matcher.markers:
        reason = matcher.marked(dir_entry.path, listing)
        if reason is not None:  # a directory holding a marker file: left out, not entered
            yield _entry_event(dir_entry, reason, matcher, measure)
            return
    if matcher is not None and IGNORE_FILE in listing:
        lines = _read_ignore(os.path.join(dir_entry.path, IGNORE_FILE))
        if lines is not None:
            matcher = matcher.child(dir_entry.relpath, lines)
    yield Enter(dir_entry, listing)
    base = os.path.join(dir_entry.path, "")  # + name: os.path.join(path, name), once a dir
    rel_base = _join(dir_entry.relpath, "")
    run: list[tuple[str, os.stat_result]] = []  # regular files not yet given (batch)
    for name, st_or_error in zip(names, stats, strict=True):
        rel = rel_base + name
        if isinstance(st_or_error, OSError):
            if run:
                yield Files(base, rel_base, run)
                run = []
            # Gone before it could be looked at: not worth a note if a rule drops it anyway.
            if not (matcher is not None and st_or_error.errno in _VANISHED
                    and matcher.excluded(rel, False) and matcher.excluded(rel, True)):
                yield Skip(_error_skip(base + name, st_or_error))
            continue
        st = st_or_error
        kind = "file" if _IS_REG(st.st_mode) and not _REPARSE else classify(st)
        rule = None
        if matcher is not None and kind in ("file", "dir"):
            rule = matcher.excluded(rel, kind == "dir", st.st_size if kind == "file" else None)
            if (rule is None and kind == "dir" and matcher.one_file_system
                    and st.st_dev != dir_entry.st.st_dev):
                rule = "on another filesystem (--one-file-system)"
        if batch and kind == "file" and rule is None:
            run.append((name, st))
            if len(run) == BATCH_FILES:
                yield Files(base, rel_base, run)
                run = []
            continue
        if run:
            yield Files(base, rel_base, run)
            run = []
        entry = Entry(base + name, rel, name, kind, st)
        if kind == "dir" and rule is None:
            yield from _walk_dir(entry, matcher, measure, batch)
        else:
            yield _entry_event(entry, rule, matcher, measure)
    if run:
        yield Files(base, rel_base, run)
    yield Leave(dir_entry)


def _entry_event(entry: Entry, rule: str | None, matcher: Matcher | None,
                 measure: bool) -> Event:
    """The event of an entry of a directory other than one walked into; ``rule`` the one
    that excludes it, if any."""
    path, rel, kind, st = entry.path, entry.relpath, entry.kind, entry.st
    if rule is not None:
        if kind == "dir":
            files, size = _measure(path) if measure else (0, 0)
            return Excluded(path, rel, rule, True, files, size)
        return Excluded(path, rel, rule, False, 1, st.st_size)
    if kind == "file":
        return File(entry)
    if kind == "symlink":
        if matcher is not None:
            rule = matcher.excluded(rel, False, None)
            if rule is not None:
                return Excluded(path, rel, rule, False, 0, 0)
        return Link(Entry(path, rel, entry.name, kind, st, read_link(path)))
    return Skip(Skipped(path, kind, ""))


def _read_ignore(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read().splitlines()
    except OSError:
        return None


def _measure(path: str) -> tuple[int, int]:
    """Count regular files and bytes below an excluded directory (lstat only)."""
    files = size = 0
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    kind = classify(st)
                    if kind == "dir":
                        stack.append(e.path)
                    elif kind == "file":
                        files += 1
                        size += st.st_size
        except OSError:
            continue
    return files, size
