"""Processes and open files: which process is a gateway, which files under the sources are live.

Open files are found through ``/proc/<pid>/fd`` on Linux (ten times faster than psutil's
``open_files()``, which reads every descriptor's ``fdinfo``; only the files under the sources
are looked at further) and through psutil's ``Process.open_files()`` elsewhere. Where the
platform does not report the open mode (macOS, Windows), every open file counts as open for
writing: the safe side.

This process and its ancestors are never "the gateway" nor "another process".
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import psutil

from snapkit.capture.sqlite import WAL, has_wal, is_sqlite, strip_sidecar

#: ``(absolute path, is_dir) -> selected``: which paths the snapshot takes (see
#: :func:`snapkit.capture.service.detection.selector`). Files it rejects are not captured, so their
#: being open does not matter.
Selector = Callable[[str, bool], bool]

_WRITE_MODES = frozenset({"w", "a", "r+", "a+", "w+"})


class Roots:
    """The source roots, as given and resolved, for "is this path under a source"."""

    def __init__(self, sources: Sequence[str]) -> None:
        pairs: list[tuple[str, str]] = []  # (prefix to match, prefix to report)
        for source in sources:
            given = os.path.abspath(source)
            for form in {given, os.path.realpath(given)}:
                pairs.append((form, given))
        # Longest first, so nested sources report under the innermost one.
        pairs.sort(key=lambda p: len(p[0]), reverse=True)
        self.pairs = tuple(pairs)
        self.given = tuple(dict.fromkeys(os.path.abspath(s) for s in sources))

    def map(self, path: str) -> str | None:
        """``path`` re-rooted at the source (as given) it lies under, or None."""
        for prefix, given in self.pairs:
            if path == prefix:
                return given
            base = prefix if prefix.endswith(os.sep) else prefix + os.sep
            if path.startswith(base):
                return os.path.join(given, path[len(base) :])
        return None


def own_pids() -> set[int]:
    """This process and its ancestors: never "the gateway", never "another process"."""
    pids = {os.getpid()}
    with suppress(psutil.Error):
        pids.update(parent.pid for parent in psutil.Process().parents())
    return pids


def command_line(cmdline: Sequence[str] | None, name: str | None) -> str:
    """A process's command line as the pattern sees it: arguments joined by spaces."""
    return " ".join(cmdline) if cmdline else (name or "")


def gateway_pids(pattern: str, skip: set[int]) -> tuple[int, ...]:
    """Live processes whose command line matches ``pattern`` (``service.process_pattern``)."""
    regex = re.compile(pattern)
    found: list[int] = []
    for proc in psutil.process_iter(["pid", "cmdline", "name", "status"]):
        info = proc.info
        pid = info.get("pid")
        if not isinstance(pid, int) or pid in skip:
            continue
        if info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        text = command_line(info.get("cmdline"), info.get("name"))
        if text and regex.search(text):
            found.append(pid)
    return tuple(sorted(found))


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


#: ``(path as under its source, open for writing, pid)``
OpenFile = tuple[str, bool, int]


def open_files(roots: Roots, skip: set[int]) -> list[OpenFile]:
    """The files under the sources that other processes hold open."""
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd"):
        return open_files_proc(roots, skip)
    return open_files_psutil(roots, skip)


def open_files_proc(roots: Roots, skip: set[int]) -> list[OpenFile]:
    found: list[OpenFile] = []
    for pid in psutil.pids():
        if pid in skip:
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:  # gone, or another user's process
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if not target.startswith("/"):
                continue  # socket:[…], pipe:[…], anon_inode:…
            mapped = roots.map(target)
            if mapped is None:
                continue
            try:
                if not stat.S_ISREG(os.stat(target).st_mode):
                    continue
            except OSError:
                continue  # "… (deleted)", or gone meanwhile
            found.append((mapped, _proc_fd_writing(pid, fd), pid))
    return found


def _proc_fd_writing(pid: int, fd: str) -> bool:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags:"):
                    flags = int(line.split(":", 1)[1].strip(), 8)
                    return (flags & os.O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)
    except (OSError, ValueError):
        pass
    return True  # unknown: the safe side


def open_files_psutil(roots: Roots, skip: set[int]) -> list[OpenFile]:
    found: list[OpenFile] = []
    for proc in psutil.process_iter():
        if proc.pid in skip:
            continue
        try:
            files = proc.open_files()
        except psutil.Error:  # AccessDenied, NoSuchProcess, ZombieProcess
            continue
        for entry in files:
            mapped = roots.map(entry.path)
            if mapped is not None:
                found.append((mapped, _entry_writing(entry), proc.pid))
    return found


def _entry_writing(entry: Any) -> bool:
    mode = getattr(entry, "mode", None)
    if isinstance(mode, str):
        return mode in _WRITE_MODES
    flags = getattr(entry, "flags", None)
    if isinstance(flags, int):
        return (flags & os.O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)
    return True  # the platform does not say (macOS, Windows): the safe side


@dataclass(frozen=True)
class Locks:
    """What other processes hold open under the sources."""

    writing: tuple[str, ...]  # non-SQLite files open for writing
    held_databases: tuple[str, ...]  # SQLite databases (or their sidecars) held open
    holders: frozenset[int]  # every process holding a file under the sources open


def scan_locks(roots: Roots, skip: set[int], selected: Selector | None,
               cache: dict[str, bool]) -> Locks:
    writing: set[str] = set()
    held: set[str] = set()
    holders: set[int] = set()
    for path, is_writing, pid in open_files(roots, skip):
        holders.add(pid)
        base = strip_sidecar(path)
        if base is not None and is_sqlite(base, cache):
            if selected is None or selected(base, False):
                held.add(base)
            continue
        if selected is not None and not selected(path, False):
            continue
        if is_sqlite(path, cache):
            held.add(path)
        elif is_writing:
            writing.add(path)
    return Locks(tuple(sorted(writing)), tuple(sorted(held)), frozenset(holders))


def wal_databases(roots: Roots, selected: Selector | None, cache: dict[str, bool]) -> set[str]:
    """SQLite databases under the sources whose ``-wal`` sidecar exists (a name-only walk)."""
    found: set[str] = set()

    def check(base: str) -> None:
        if (selected is None or selected(base, False)) and is_sqlite(base, cache):
            found.add(base)

    for source in roots.given:
        if os.path.isfile(source):
            if has_wal(source):
                check(source)
            continue
        stack = [source]
        while stack:  # scandir's entry types: no lstat per directory, unlike os.walk
            dirpath = stack.pop()
            try:
                with os.scandir(dirpath) as it:
                    entries = list(it)
            except OSError:
                continue
            names = {e.name for e in entries}
            for e in entries:
                if e.name.endswith(WAL) and e.name[: -len(WAL)] in names:
                    check(os.path.join(dirpath, e.name[: -len(WAL)]))
                try:
                    is_dir = e.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir and (selected is None or selected(e.path, True)):
                    stack.append(e.path)
    return found
