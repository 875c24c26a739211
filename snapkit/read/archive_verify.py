"""Check an archive made by ``snapkit export`` against the checksums it carries.

The metadata ``export`` writes into the PAX global header (``comment``: snapshot id, sources,
layout, an xxh3-128 checksum per file) is read back here; every regular file is hashed as the
archive streams past, so memory does not grow with the archive. An archive without that
metadata cannot be checked; one made by ``openclaw backup create`` is named as such.

An export from a damaged repository ends with a second metadata record naming the entries it
left out (:func:`snapkit.format.archive_meta.decode_omitted`): those are reported as omitted,
not missing, and the archive does not pass (it is not the whole snapshot).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import zstandard

from snapkit.format import archive_meta
from snapkit.format.archive_meta import ArchiveMeta, Omitted
from snapkit.format.errors import UsageError
from snapkit.format.model import file_hasher
from snapkit.read import openclaw_archive


def open_archive_stream(path: str) -> IO[bytes]:
    """A decompressed byte stream of a tar / tar.gz / tar.zst file (detected by magic)."""
    f = open(path, "rb")  # noqa: SIM115 (returned to the caller)
    head = f.read(4)
    f.seek(0)
    if head[:2] == b"\x1f\x8b":
        from isal import igzip

        return igzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[no-untyped-call,return-value]
    if head == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(f, closefd=True)
    return f


@dataclass
class VerifyResult:
    snapshot: str | None
    layout: str = "snapkit"  # "snapkit" | "openclaw"
    checked: int = 0
    unchecked: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    #: why the archive could not be read to its end (truncated, corrupt), or None
    damaged: str | None = None
    #: entries the export left out (the repository could not give them), from its last record
    omitted: list[Omitted] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """Every member the archive holds is as its metadata says."""
        return self.snapshot is not None and self.damaged is None and not (
            self.missing or self.extra or self.mismatched)

    @property
    def ok(self) -> bool:
        return self.consistent and not self.omitted


def read_metadata(tar: tarfile.TarFile, where: str = "the archive") -> ArchiveMeta | None:
    return archive_meta.decode(tar.pax_headers.get(archive_meta.PAX_RECORD), where)


def verify_archive(path: str) -> VerifyResult:
    """Check every regular file of an exported archive against the checksums it carries."""
    with open_archive_stream(path) as stream:
        try:
            tar = tarfile.open(fileobj=stream, mode="r|", encoding="utf-8",  # noqa: SIM115
                               errors="surrogateescape")
        except tarfile.TarError as exc:
            raise UsageError(f"{path} is not a tar archive ({exc})") from exc
        with tar:
            iterator: Iterator[tarfile.TarInfo] = iter(tar)
            first = next(iterator, None)
            meta = read_metadata(tar, path)
            if meta is None:
                raise UsageError(_unverifiable(path, first, iterator))
            expected: dict[str, str] = dict(meta.files)
            result = VerifyResult(str(meta.snapshot), meta.layout)
            seen: set[str] = set()
            at: list[str] = []  # the entry being read
            try:
                _check_members(tar, first, iterator, expected, seen, result, at)
            except _DAMAGE as exc:
                # A truncated or corrupt archive: finding that is what verify-archive is for.
                where = f"at {at[-1]}" if at else "before its first entry"
                result.damaged = (f"the archive is truncated or damaged {where} "
                                  f"({type(exc).__name__}: {exc})")
        result.omitted = list(archive_meta.decode_omitted(
            tar.pax_headers.get(archive_meta.PAX_RECORD)))
    result.missing = sorted(set(expected) - seen - {o.name for o in result.omitted})
    return result


#: What reading a cut-off or corrupt archive raises: gzip/zstd stream errors, tar errors.
_DAMAGE = (EOFError, tarfile.TarError, zstandard.ZstdError, OSError, ValueError)


def _check_members(tar: tarfile.TarFile, first: tarfile.TarInfo | None,
                   rest: Iterator[tarfile.TarInfo], expected: dict[str, str], seen: set[str],
                   result: VerifyResult, at: list[str]) -> None:
    member = first
    while member is not None:
        at.append(member.name)
        if member.isreg():
            seen.add(member.name)
            fobj = tar.extractfile(member)
            hasher = file_hasher()
            while fobj is not None and (block := fobj.read(1024 * 1024)):
                hasher.update(block)
            want = expected.get(member.name)
            if want is None:
                result.extra.append(member.name)
            elif not want:
                result.unchecked += 1  # written without a checksum (old snapshot)
            elif hasher.hexdigest() != want:
                result.mismatched.append(member.name)
            else:
                result.checked += 1
        member = next(rest, None)


def _unverifiable(path: str, first: tarfile.TarInfo | None,
                  rest: Iterator[tarfile.TarInfo]) -> str:
    """Why an archive without snapkit metadata cannot be verified; names an OpenClaw backup
    (one top directory with ``manifest.json`` and ``payload/``) as such."""
    tops: set[str] = set()
    names: set[str] = set()
    member = first
    while member is not None and len(tops) < 2:
        name = member.name.strip("/")
        tops.add(name.split("/")[0])
        names.add(name)
        member = next(rest, None)
    if len(tops) == 1:
        (top,) = tops
        manifest = f"{top}/{openclaw_archive.MANIFEST}"
        if manifest in names and any(n.startswith(f"{top}/payload/") for n in names):
            return (f"{path} is an `openclaw backup create` archive (root {top}), which carries "
                    f"no snapkit checksums; check it with `openclaw backup verify {path}`, or "
                    f"import it with `snapkit import {path}`")
    return (f"{path} carries no snapkit metadata; only archives made by `snapkit export` can "
            "be verified")
