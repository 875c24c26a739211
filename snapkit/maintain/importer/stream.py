"""Opening an archive: the decompressed stream (compression found by its magic bytes), the tar
reader over it, and the one error every read failure becomes.

A failure to read the archive — truncated, corrupt, a bad checksum — is :class:`Damaged`, never
confused with a failure to write the repository: :class:`Guarded` wraps a member's content and
:func:`read_members` the member headers.
"""

from __future__ import annotations

import bz2
import lzma
import os
import tarfile
from collections.abc import Iterator
from typing import IO, Any

import zstandard

from snapkit.format.errors import UsageError
from snapkit.read.treewalk import UnsafeName, check_name

TAR_SUFFIXES = (".tar.gz", ".tar.zst", ".tar.bz2", ".tar.xz", ".tgz", ".tzst", ".tbz2",
                 ".txz", ".tar", ".gz", ".zst")


class Damaged(Exception):
    """The archive stream failed (truncated, corrupt); carries the reason."""


READ_ERRORS = (tarfile.TarError, EOFError, OSError, zstandard.ZstdError, lzma.LZMAError)


class Guarded:
    """A member's content stream that turns archive read errors into :class:`Damaged`, so
    they are never confused with errors writing the repository."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)
        except READ_ERRORS as exc:
            raise Damaged(str(exc) or type(exc).__name__) from exc

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def open_stream(path: str) -> tuple[IO[bytes], str]:
    """The decompressed stream of ``path`` and the compression found by its magic bytes."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (returned to the caller)
    except IsADirectoryError as exc:
        raise UsageError(f"{path} is a directory, not an archive") from exc
    except FileNotFoundError as exc:
        raise UsageError(f"{path} does not exist; pass an archive file") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    head = f.read(6)
    f.seek(0)
    if head[:2] == b"\x1f\x8b":
        from isal import igzip

        gz: IO[bytes] = igzip.GzipFile(  # type: ignore[no-untyped-call,assignment]
            fileobj=f, mode="rb")
        return gz, "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(f, closefd=True), "zstd"
    if head[:3] == b"BZh":
        return bz2.BZ2File(f), "bzip2"
    if head == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(f), "xz"
    return f, "none"


def open_tar(stream: IO[bytes], path: str) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=stream, mode="r|", encoding="utf-8",
                            errors="surrogateescape")
    except READ_ERRORS as exc:
        stream.close()
        raise UsageError(f"{path} is not a readable tar, tar.gz or tar.zst archive "
                         f"({str(exc) or type(exc).__name__})") from exc


def probe_archive(path: str) -> str:
    """Check that ``path`` opens as a tar archive (its first header reads); return the
    compression. Raises :class:`UsageError` (exit 2) with one clear line otherwise."""
    stream, compression = open_stream(path)
    with stream, open_tar(stream, path):
        pass
    return compression


def read_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    iterator = iter(tar)
    while True:
        try:
            m = next(iterator, None)
        except READ_ERRORS as exc:
            raise Damaged(str(exc) or type(exc).__name__) from exc
        if m is None:
            return
        yield m


def archive_stem(path: str) -> str:
    name = os.path.basename(path)
    low = name.lower()
    for suffix in TAR_SUFFIXES:
        if low.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    try:
        check_name(name, ())
    except UnsafeName:
        return "archive"
    return name
