"""Consistent bytes for one file: open without following links, chunk, detect change.

``capture_file`` reads a regular file through the chunker into the blob saver and returns
its chunk ids with the ``fstat`` taken on the open descriptor, so the stored metadata always
describes the bytes stored. A file that vanished (ENOENT/ENOTDIR, or replaced by something
that is not a regular file) raises :class:`Vanished`; other OS errors raise
:class:`Unreadable`. A file whose size or mtime changes while it is read is read again, up to
``MAX_ATTEMPTS`` times, then stored as last read and flagged.

SQLite databases are recognised by their 16-byte header, not their name. With the
``backup-api`` policy they are copied through SQLite's online backup API from a read-only
(``mode=ro``) connection into a private temp file, and that copy is stored: committed
transactions that live only in the ``-wal`` are included, the writer is never blocked for
long, and the source is never checkpointed or modified. A WAL database is copied in one step
(one read transaction: consistent, and WAL readers do not block writers) — or, when it has
no ``-wal`` at all (at rest), read plainly so that no empty sidecar is created; a rollback-journal
database in small steps so writers get in between, restarting when they do, until
``SQLITE_DEADLINE_S``. A database that cannot be opened or copied in time falls back to a raw
read with a warning.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import BinaryIO

from snapkit.chunker import Chunker
from snapkit.model import file_hasher

MAX_ATTEMPTS = 3
SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
SQLITE_POLICIES = ("backup-api", "raw", "skip")
SQLITE_DEADLINE_S = 30.0
SQLITE_STEP_PAGES = 1024
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class Vanished(Exception):
    """The file is gone (or is no longer a regular file)."""


class Unreadable(Exception):
    """The file exists but cannot be read; the message is the OS error."""


class SkippedByPolicy(Exception):
    """The file is a SQLite database and the ``sqlite`` policy is ``skip``."""


@dataclass(frozen=True)
class Captured:
    content: tuple[str, ...]
    size: int  # bytes stored (the last read, or the database copy)
    st: os.stat_result  # of the source file
    bytes_read: int
    changed_during_read: bool
    method: str = "read"  # "read" | "sqlite-backup" | "sqlite-at-rest" | "sqlite-raw"
    warning: str | None = None
    hash: str = ""  # xxh3-128 of the content stored


Save = Callable[[bytes], str]
OnBytes = Callable[[int], None] | None


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


_HEADER_BYTES = 20  # the magic, page size, and the write/read format versions (2 = WAL)


def _header(fd: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, _HEADER_BYTES, 0)
    os.lseek(fd, 0, os.SEEK_SET)  # pragma: no cover - Windows
    head = os.read(fd, _HEADER_BYTES)  # pragma: no cover
    os.lseek(fd, 0, os.SEEK_SET)  # pragma: no cover
    return head  # pragma: no cover


def _wal_mode(header: bytes) -> bool:
    return len(header) >= _HEADER_BYTES and header[18] == 2 and header[19] == 2


def _wal_exists(path: str) -> bool:
    return os.path.lexists(path + "-wal")


def is_sqlite(path: str) -> bool:
    """True when ``path`` starts with the SQLite header (a cheap peek; False on any error)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def sidecar_base(name: str, names: frozenset[str] | set[str]) -> str | None:
    """If ``name`` is a ``-wal``/``-shm``/``-journal`` beside a listed file, that file's name."""
    for suffix in SQLITE_SIDECARS:
        if name.endswith(suffix) and name[: -len(suffix)] in names:
            return name[: -len(suffix)]
    return None


def is_unstored_sidecar(path: str, names: frozenset[str] | set[str], sqlite: str) -> bool:
    """True for the ``-wal``/``-shm``/``-journal`` of a database a snapshot copies whole (so the
    snapshot does not store the sidecar); ``names`` is the directory's listing."""
    base = sidecar_base(os.path.basename(path), names)
    return base is not None and sqlite != "raw" and is_sqlite(os.path.join(
        os.path.dirname(path), base))


def capture_file(
    path: str,
    chunker: Chunker,
    save: Save,
    on_bytes: OnBytes = None,
    sqlite: str = "backup-api",
    expect: os.stat_result | None = None,
) -> Captured:
    """Read ``path`` into the store; see the module docstring for the error contract.

    ``expect`` is the walk's lstat of the file: a file opened that is not that very file (same
    device and inode) — replaced, or reached through a parent directory swapped for a
    symlink — is treated as vanished rather than stored under the listed name.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise Vanished(path) from exc
        raise Unreadable(exc.strerror or str(exc)) from exc
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode) or (
            expect is not None
            and expect.st_ino
            and (before.st_dev, before.st_ino) != (expect.st_dev, expect.st_ino)
        ):
            raise Vanished(path)
        warning = None
        header = _header(fd)
        if before.st_size >= 512 and header[:16] == SQLITE_HEADER:
            if sqlite == "skip":
                raise SkippedByPolicy(path)
            if sqlite == "backup-api" and _wal_mode(header) and not _wal_exists(path):
                # A WAL database at rest: every commit is in the main file, and a writer must
                # create the -wal before it can commit. Opening it, even read-only, would
                # leave empty -wal/-shm files behind; a plain read is consistent as long as
                # no -wal appeared and the file did not move while it was read.
                captured = _read(fd, path, before, chunker, save, on_bytes)
                if not captured.changed_during_read and not _wal_exists(path):
                    return replace(captured, method="sqlite-at-rest")
            if sqlite == "backup-api":
                try:
                    return _capture_sqlite(path, before, chunker, save, on_bytes)
                except _SqliteFailed as exc:
                    warning = (f"{path}: SQLite online backup failed ({exc}); stored a raw "
                               "copy, which may be inconsistent")
            captured = _read(fd, path, before, chunker, save, on_bytes)
            return replace(captured, method="sqlite-raw", warning=warning)
        return _read(fd, path, before, chunker, save, on_bytes)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise Vanished(path) from exc
        raise Unreadable(exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)


def _read(
    fd: int, path: str, before: os.stat_result, chunker: Chunker, save: Save, on_bytes: OnBytes
) -> Captured:
    total = 0
    with os.fdopen(fd, "rb", buffering=0, closefd=False) as f:
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                f.seek(0)
            content, size, digest = _store_stream(f, before.st_size, chunker, save, on_bytes)
            total += size
            after = os.fstat(fd)
            if _same(before, after):
                return Captured(tuple(content), size, after, total, False, hash=digest)
            before = after
    return Captured(tuple(content), size, after, total, True, hash=digest)


def _store_stream(
    f: BinaryIO, size_hint: int, chunker: Chunker, save: Save, on_bytes: OnBytes
) -> tuple[list[str], int, str]:
    """Chunk a stream into the store: (chunk ids, bytes, xxh3-128 of the whole)."""
    content: list[str] = []
    size = 0
    hasher = file_hasher()
    for chunk in chunker.chunks(f, size_hint):
        content.append(save(chunk))
        hasher.update(chunk)
        size += len(chunk)
        if on_bytes is not None:
            on_bytes(len(chunk))
    return content, size, hasher.hexdigest()


class _SqliteFailed(Exception):
    """The online backup could not produce a copy (the message says why)."""


def _ro_uri(path: str) -> str:
    return "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"


def sqlite_copy(path: str, dest: str, deadline_s: float = SQLITE_DEADLINE_S) -> None:
    """Copy the database at ``path`` to ``dest`` through the online backup API (read-only)."""
    deadline = time.monotonic() + deadline_s

    def progress(_status: int, _remaining: int, _total: int) -> None:
        if time.monotonic() > deadline:
            raise _SqliteFailed(f"database stayed busy for {deadline_s:.0f} s")

    try:
        src = sqlite3.connect(_ro_uri(path), uri=True, timeout=min(5.0, deadline_s))
    except sqlite3.Error as exc:
        raise _SqliteFailed(f"cannot open: {exc}") from exc
    try:
        dst = sqlite3.connect(dest)
        try:
            mode = src.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                src.backup(dst, pages=-1, progress=progress, sleep=0.01)
            else:
                src.backup(dst, pages=SQLITE_STEP_PAGES, progress=progress, sleep=0.005)
            # The copy is a standalone database: no WAL, nothing left to checkpoint.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise _SqliteFailed(str(exc)) from exc
    finally:
        src.close()


def _capture_sqlite(
    path: str, st: os.stat_result, chunker: Chunker, save: Save, on_bytes: OnBytes
) -> Captured:
    fd, tmp = tempfile.mkstemp(prefix="snapkit-sqlite-", suffix=".db")
    os.close(fd)
    try:
        sqlite_copy(path, tmp)
        with open(tmp, "rb") as f:
            content, size, digest = _store_stream(
                f, os.fstat(f.fileno()).st_size, chunker, save, on_bytes
            )
        return Captured(tuple(content), size, st, size, False, "sqlite-backup", hash=digest)
    finally:
        for suffix in ("", *SQLITE_SIDECARS):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp + suffix)
