"""``export_to``: write a snapshot as a standard archive (tar.gz, tar.zst or tar) to a file or
a stream.

Under a shared lock the snapshot is resolved, the mode's subset chosen (from the installation
the snapshot recorded) and :func:`snapkit.read.export.export_snapshot` streams the archive. A file
is written atomically: to a partial name beside it (``.snapkit-export-<pid>-<hex>.tmp``,
``snapkit.read.partials``), fsync'd, renamed over the output, the directory fsync'd; a failure or
Ctrl-C removes the partial file, and the partial files killed exports left in that directory
are removed first (a :class:`PartialsRemoved` event). On a damaged repository the archive
holds every entry that could be read and lists the others (``result.omitted``, and a final
record in the archive); ``fail_fast`` raises at the first damage instead, which removes the
partial file.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from snapkit.format.errors import SnapkitError, UsageError
from snapkit.format.model import Snapshot
from snapkit.maintain.selection import resolve
from snapkit.ops.events import Event, OnEvent, file_counter, ignore
from snapkit.ops.repo import Location, reading
from snapkit.read.export import (
    ExportOptions,
    ExportResult,
    export_snapshot,
    format_from_filename,
    normalize_format,
)
from snapkit.read.partials import is_orphan, partial_name
from snapkit.select.config import load_config
from snapkit.select.openclaw import Installation, discover
from snapkit.select.sources import mode_subset
from snapkit.store.backend import fsync_dir

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_EXT = {"tar.gz": "tar.gz", "tar.zst": "tar.zst", "tar": "tar"}
#: An export in progress is written to ``.snapkit-export-<pid>-<hex>.tmp`` beside the output.
_PARTIAL_PREFIX = ".snapkit-export-"
_PARTIAL_SUFFIX = ".tmp"


@dataclass(frozen=True)
class PartialsRemoved(Event):
    """Partial archives of interrupted exports were removed from ``directory``."""

    count: int
    directory: str


@dataclass(frozen=True)
class PlainArchive(Event):
    """The repository is encrypted, the archive is not (a standard tar, for `tar` anywhere):
    said as it starts to be written (not before an error that writes nothing)."""


@dataclass(frozen=True)
class ExportOutcome:
    snapshot_id: str
    format: str  # "tar.gz" | "tar.zst" | "tar"
    archive: str | None  # the file written, as named; None for a stream
    size: int | None  # the file's size; None for a stream
    result: ExportResult


def export_to(location: Location, snapshot: str, output: str | Path | BinaryIO | None = None,
              *, fmt: str | None = None, mode: str | None = None,
              includes: Sequence[str] = (), excludes: Sequence[str] = (),
              paths: str = "absolute", layout: str = "snapkit", force: bool = False,
              no_lock: bool = False, config: str | None = None, fail_fast: bool = False,
              on_event: OnEvent = ignore, progress_interval: float = 0.2) -> ExportOutcome:
    """Export ``snapshot`` (a selector) to ``output``: a file name (None: ``<host>-<time>-<id>
    .<ext>`` here; an existing file only with ``force``) or a binary stream (not closed).

    ``fmt`` defaults to the file name's extension, else tar.gz; ``mode`` exports only that
    mode's subset. Files added to the archive are reported as
    :class:`~snapkit.ops.events.FileWritten` events, at most once per ``progress_interval``,
    with the totals the archive will reach (from the export's plan: no extra pass).
    """
    loaded = load_config(config)
    named, stream, fmt = _output(output, fmt)
    if named:  # before the repository is opened: nothing to undo
        _check_output(Path(named), force, fmt)
    if mode is not None and mode not in loaded.config.modes:
        known = ", ".join(sorted(loaded.config.modes))
        raise UsageError(f"unknown mode {mode!r}; the config defines: {known}")
    with reading(location, no_lock, "export", on_event) as repo:
        snap_id, snap = resolve(snapshot, repo.snapshots())
        subset = None
        if mode is not None:
            # The installation the snapshot recorded (an older snapshot: the one found now).
            inst = Installation.from_dict(snap.openclaw) if snap.openclaw else discover()
            subset = mode_subset(snap.sources, mode, loaded, inst)
        opts = ExportOptions(format=fmt, mode_subset=subset, mode=mode,
                             includes=tuple(includes), excludes=tuple(excludes), paths=paths,
                             layout=layout, gzip_level=loaded.config.gzip_level,
                             zstd_level=loaded.config.zstd_level, fail_fast=fail_fast)

        def write(out: BinaryIO) -> ExportResult:
            if repo.cipher.encrypted:  # (once the output is known to be writable)
                on_event(PlainArchive())
            counter = file_counter(on_event, progress_interval)
            return export_snapshot(repo.load_tree, repo.read_blobs, snap_id, snap, out, opts,
                                   counter, counter.planned)

        if stream is not None:
            if stream.isatty():
                raise UsageError("refusing to write an archive to a terminal; redirect stdout "
                                 "or pass -o FILE")
            result = write(stream)
            stream.flush()
            return ExportOutcome(snap_id, fmt, None, None, result)
        archive = str(named) if named else _default_name(snap_id, snap, fmt)
        path = Path(archive)
        _check_output(path, force, fmt)
        removed = _remove_orphans(path.parent)
        if removed:
            on_event(PartialsRemoved(removed, str(path.parent)))
        result = _atomically(path, write)
    return ExportOutcome(snap_id, fmt, archive, os.path.getsize(path), result)


def _output(output: str | Path | BinaryIO | None,
            fmt: str | None) -> tuple[str | Path | None, BinaryIO | None, str]:
    """(file name or None, stream or None, format): the format as given, else the file
    name's, else tar.gz."""
    if output is None or isinstance(output, str | Path):
        named, stream = output, None
    else:
        named, stream = None, output
    if fmt:
        return named, stream, normalize_format(fmt)
    return named, stream, (format_from_filename(str(named)) if named else None) or "tar.gz"


def _check_output(path: Path, force: bool, fmt: str) -> None:
    """Refuse (a usage error: nothing written) an output that is a directory (even with
    ``force``), whose directory does not exist, or that exists without ``force``."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory; name a file (-o {path / 'NAME'}.{_EXT[fmt]})")
    if not path.parent.is_dir():
        raise UsageError(f"the directory of -o {path} does not exist; create it first"
                         if not path.parent.exists() else
                         f"-o {path}: {path.parent} is not a directory; name a file in one")
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to replace it or -o another name")


def _default_name(snap_id: str, snap: Snapshot, fmt: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(snap.time_ns / 1e9))
    return f"{snap.hostname}-{stamp}-{snap_id[:8]}.{_EXT[fmt]}"


def _atomically(path: Path, write: Callable[[BinaryIO], ExportResult]) -> ExportResult:
    """Run ``write`` on a partial file beside ``path``, then put it in place durably. An error
    of the output (not of the repository read meanwhile) names ``path``, not the partial
    file."""
    tmp = path.with_name(partial_name(_PARTIAL_PREFIX, _PARTIAL_SUFFIX))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o600)
    except OSError as exc:
        raise _output_error(exc, path) from exc
    raw = _Output(fd, "wb")
    written = False
    try:
        with io.BufferedWriter(raw) as f:
            result = write(f)
            written = True  # from here on, every error is the output's
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.resolve().parent)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and (written or exc is raw.error):
            raise _output_error(exc, path) from exc
        raise
    return result


class _Output(io.FileIO):
    """The partial archive: an error of its writes is kept, to tell it from an error of the
    repository read meanwhile (both reach :func:`_atomically` as an ``OSError``)."""

    error: OSError | None = None

    def write(self, b: ReadableBuffer, /) -> int:
        try:
            return super().write(b)
        except OSError as exc:
            self.error = exc
            raise


def _output_error(exc: OSError, path: Path) -> SnapkitError:
    """An error writing the archive as one line naming ``path`` (never the partial file, which
    is removed) and the fix."""
    if exc.errno == errno.EROFS:
        return SnapkitError(f"cannot write {path}: read-only file system; -o a file on a "
                            "writable disk")
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return SnapkitError(f"no space left on the disk of {path} (the partial archive was "
                            "removed); free space there or -o a file on another disk")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return SnapkitError(f"permission denied writing {path}; -o a file in a directory you "
                            "can write to")
    if exc.errno == errno.EISDIR:
        return UsageError(f"{path} is a directory; name a file")
    return SnapkitError(f"cannot write {path}: {exc.strerror or exc}")


def _remove_orphans(directory: Path) -> int:
    """Remove the partial archives interrupted exports left in ``directory``."""
    removed = 0
    try:
        names = [n for n in os.listdir(directory or ".")
                 if is_orphan(n, _PARTIAL_PREFIX, _PARTIAL_SUFFIX)]
    except OSError:
        return 0
    for name in names:
        with contextlib.suppress(OSError):
            (directory / name).unlink()
            removed += 1
    return removed
