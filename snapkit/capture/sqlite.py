"""SQLite facts, in one place: the header that identifies a database, its sidecars, the copy.

A database is recognised by its 16-byte header, never by its name. Beside it a writer keeps
sidecars: ``-wal`` (WAL mode: commits not yet checkpointed into the main file), ``-shm`` (the
WAL index) and ``-journal`` (rollback mode). A snapshot that copies a database whole, through
the online backup API (:func:`copy`) or as a plain read of a database at rest, stores the
consistent copy and not the sidecars (:func:`is_unstored_sidecar`); the ``raw`` policy stores
the files as they are, sidecars included.

Capture (``snapkit.capture.file``), the live diff, the dry run and the gateway's open-file scan
(``snapkit.capture.service.processes``) all ask these questions; they import the answers from here.

A database's bytes are cut at fixed offsets, :class:`PageChunker`, not by content: SQLite rewrites
pages in place and grows at the end, so a block of whole pages is the unit that changes. A day of
an OpenClaw agent changes ~140 scattered pages of a 19 MB database; content-defined chunks
(~45 KiB) would store ~1.1 MB of new blobs for it, 8 KiB page blocks ~0.3 MB
(``docs/design.md``, "SQLite page blocks").
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Collection, Iterator, MutableMapping
from typing import BinaryIO

#: The first 16 bytes of every SQLite 3 database file.
HEADER = b"SQLite format 3\x00"
#: The header bytes :func:`wal_mode` needs: the magic, the page size, the write/read versions.
HEADER_BYTES = 20
#: A file shorter than this is not taken for a database (one page is at least 512 bytes).
MIN_SIZE = 512
WAL = "-wal"
SIDECARS = (WAL, "-shm", "-journal")
#: How long the online backup may wait for writers before the copy gives up.
DEADLINE_S = 30.0
#: Pages copied per step of a rollback-journal database (writers get in between steps).
STEP_PAGES = 1024
#: A database is cut into blocks of this many bytes, or of one page when pages are larger...
PAGE_BLOCK = 8 * 1024
#: ...and of twice that, and so on, when it would otherwise be more than this many blocks (1 GiB
#: in 8 KiB blocks): the index holds every block in memory (~165 B each).
MAX_BLOCKS = 128 * 1024
#: How much of a database :class:`PageChunker` reads at a time.
READ_SIZE = 1024 * 1024


class CopyFailed(Exception):
    """The online backup could not produce a copy (the message says why)."""


def has_header(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts with the SQLite header."""
    return head[: len(HEADER)] == HEADER


def wal_mode(header: bytes) -> bool:
    """True when a database's first :data:`HEADER_BYTES` say it is in WAL mode."""
    return len(header) >= HEADER_BYTES and header[18] == 2 and header[19] == 2


def page_size(header: bytes) -> int | None:
    """The page size a database header (its first 18+ bytes) declares, or None if invalid."""
    if len(header) < 18 or not has_header(header):
        return None
    value = int.from_bytes(header[16:18], "big")
    size = 65536 if value == 1 else value
    if size < 512 or size & (size - 1):
        return None  # not a power of two between 512 and 65536: a damaged header
    return size


class PageChunker:
    """Cuts a database into fixed blocks of whole pages, aligned to the start of the file.

    The block is :data:`PAGE_BLOCK` bytes, or the page size when pages are larger (both powers
    of two, so a block always holds whole pages), doubled for a database over
    :data:`MAX_BLOCKS` blocks (one that grows past such a size is stored once more in the
    larger blocks); the last block is what is left. The same
    bytes are always cut the same way, whichever copy they come from (online backup, a
    database at rest, an imported archive), so unchanged pages deduplicate across snapshots.
    Same interface as :class:`snapkit.capture.chunker.Chunker` for the capture code.
    """

    def __init__(self, page: int, size: int = 0) -> None:
        block = max(PAGE_BLOCK, page)
        while size > block * MAX_BLOCKS:
            block *= 2
        self.block = block

    @classmethod
    def for_header(cls, header: bytes, size: int = 0) -> PageChunker | None:
        """The chunker for a database of about ``size`` bytes with this header, None when it
        is not a valid one."""
        page = page_size(header)
        return None if page is None else cls(page, size)

    def chunks(self, stream: BinaryIO, size_hint: int = 0) -> Iterator[bytes]:
        """Yield ``stream``'s blocks, read to its end (``size_hint`` is not needed)."""
        block = self.block
        pending = b""
        while True:
            data = stream.read(READ_SIZE)
            if not data:
                break
            if pending:
                data = pending + data
            end = len(data) - len(data) % block
            view = memoryview(data)
            for start in range(0, end, block):
                yield bytes(view[start:start + block])
            pending = data[end:]
        if pending:
            yield pending


def is_sqlite(path: str, cache: MutableMapping[str, bool] | None = None) -> bool:
    """True when ``path`` starts with the SQLite header (a cheap peek; False on any error).

    ``cache`` remembers the answer per path, for callers that ask about a file many times.
    """
    if cache is not None and path in cache:
        return cache[path]
    try:
        with open(path, "rb") as f:
            result = has_header(f.read(len(HEADER)))
    except OSError:
        result = False
    if cache is not None:
        cache[path] = result
    return result


def has_wal(path: str) -> bool:
    """True when a ``-wal`` sidecar exists beside ``path`` (as any kind of file)."""
    return os.path.lexists(path + WAL)


def strip_sidecar(name: str) -> str | None:
    """If ``name`` (a file name or path) ends in a sidecar suffix, the name without it."""
    for suffix in SIDECARS:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def sidecar_base(name: str, names: Collection[str]) -> str | None:
    """If ``name`` is a ``-wal``/``-shm``/``-journal`` beside a listed file, that file's name."""
    for suffix in SIDECARS:
        if name.endswith(suffix) and name[: -len(suffix)] in names:
            return name[: -len(suffix)]
    return None


def sidecar_names(name: str) -> tuple[str, ...]:
    """The names of the sidecars a database called ``name`` may have."""
    return tuple(name + suffix for suffix in SIDECARS)


def is_unstored_sidecar(path: str, names: Collection[str], policy: str) -> bool:
    """True for the ``-wal``/``-shm``/``-journal`` of a database a snapshot copies whole (so the
    snapshot does not store the sidecar); ``names`` is the directory's listing and ``policy``
    the config's ``sqlite`` value."""
    base = sidecar_base(os.path.basename(path), names)
    return base is not None and policy != "raw" and is_sqlite(
        os.path.join(os.path.dirname(path), base))


def _ro_uri(path: str) -> str:
    import urllib.parse  # (imported where used: a snapshot without databases never needs it)

    return "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"


def copy(path: str, dest: str, deadline_s: float | None = None) -> None:
    """Copy the database at ``path`` to ``dest`` through the online backup API (read-only).

    The source is opened ``mode=ro``: never checkpointed or modified. A WAL database is copied
    in one step (one read transaction: consistent, and WAL readers do not block writers); a
    rollback-journal database in steps of :data:`STEP_PAGES`, so writers get in between,
    restarting when they do. Raises :class:`CopyFailed` when it cannot be opened or stays
    busy past ``deadline_s`` (None: :data:`DEADLINE_S`, read at the call). The copy is a
    standalone database in rollback mode, written without journal or fsync (``dest`` is a temp
    file for one read: durability would only cost time).
    """
    import sqlite3  # (imported where used: a snapshot without databases never needs it)

    if deadline_s is None:
        deadline_s = DEADLINE_S
    deadline = time.monotonic() + deadline_s

    def progress(_status: int, _remaining: int, _total: int) -> None:
        if time.monotonic() > deadline:
            raise CopyFailed(f"database stayed busy for {deadline_s:.0f} s")

    try:
        src = sqlite3.connect(_ro_uri(path), uri=True, timeout=min(5.0, deadline_s))
    except sqlite3.Error as exc:
        raise CopyFailed(f"cannot open: {exc}") from exc
    try:
        dst = sqlite3.connect(dest)
        try:
            # The copy is a private temp file, read once and deleted: it needs no journal and no
            # fsync (a crash leaves nothing to recover). Same bytes, without ~20 fdatasync calls.
            dst.execute("PRAGMA synchronous=OFF")
            dst.execute("PRAGMA journal_mode=OFF")
            mode = src.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                src.backup(dst, pages=-1, progress=progress, sleep=0.01)
            else:
                src.backup(dst, pages=STEP_PAGES, progress=progress, sleep=0.005)
            # The copy is a standalone database: no WAL, nothing left to checkpoint.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise CopyFailed(str(exc)) from exc
    finally:
        src.close()


@contextlib.contextmanager
def temp_file(prefix: str) -> Iterator[str]:
    """A private temp file for a database copy; it and any sidecars go on exit."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".db")
    os.close(fd)
    try:
        yield tmp
    finally:
        for suffix in ("", *SIDECARS):
            with contextlib.suppress(OSError):
                os.unlink(tmp + suffix)
