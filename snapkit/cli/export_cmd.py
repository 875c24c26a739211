"""``snapkit export`` and ``snapkit verify-archive``."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import click

from snapkit.archive_verify import verify_archive
from snapkit.cli.common import (
    ProgressLine,
    Settings,
    emit_json,
    human_bytes,
    no_lock_option,
    notice,
    open_repo_reading,
    with_settings,
)
from snapkit.config import load_config
from snapkit.errors import EXIT_FATAL, UsageError
from snapkit.export import (
    ExportOptions,
    export_snapshot,
    format_from_filename,
    normalize_format,
)
from snapkit.openclaw import Installation, discover
from snapkit.partials import is_orphan, partial_name
from snapkit.selection import resolve
from snapkit.sources import mode_subset
from snapkit.store.backend import fsync_dir

_EXT = {"tar.gz": "tar.gz", "tar.zst": "tar.zst", "tar": "tar"}


@click.command("export")
@click.argument("snapshot")
@click.option("-o", "--output", metavar="FILE",
              help="Archive to write, or - for stdout [default: "
                   "<host>-<YYYYmmdd-HHMMSS>-<id>.<ext> here].")
@click.option("--format", "fmt", metavar="FORMAT",
              help="tar.gz (default; also tgz), tar.zst or tar; inferred from -o FILE.")
@click.option("--mode", metavar="MODE",
              help="Export only this mode's subset (e.g. config-only of a full snapshot).")
@click.option("--include", "includes", multiple=True, metavar="GLOB",
              help="Only paths matching GLOB (gitignore-style, against the absolute path).")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="Leave out paths matching GLOB.")
@click.option("--paths", type=click.Choice(["absolute", "relative"]), default="absolute",
              show_default=True,
              help="Entry names: the absolute path without its leading / (extract with "
                   "-C / to put files back), or rooted at each source directory's name.")
@click.option("--layout", type=click.Choice(["snapkit", "openclaw"]), default="snapkit",
              show_default=True,
              help="openclaw: OpenClaw's backup layout (<root>/payload/posix/<path> plus its "
                   "manifest.json), which `openclaw backup verify` and `restore` accept.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@no_lock_option
@with_settings
def export(settings: Settings, snapshot: str, output: str | None, fmt: str | None,
           mode: str | None, includes: tuple[str, ...], excludes: tuple[str, ...], paths: str,
           layout: str, force: bool, no_lock: bool) -> None:
    """Write SNAPSHOT as a standard archive that plain `tar -xzf` restores anywhere.

    \b
    snapkit export latest                          # ./<host>-<time>-<id>.tar.gz
    snapkit export latest --mode config-only -o cfg.tar.gz
    snapkit export latest --layout openclaw -o oc.tar.gz   # for openclaw backup restore
    tar -xzf <archive> -C /                        # put every file back in place
    """
    loaded = load_config(settings.config)
    if fmt:
        fmt = normalize_format(fmt)
    elif output and output != "-":
        fmt = format_from_filename(output) or "tar.gz"
    else:
        fmt = "tar.gz"
    if mode is not None and mode not in loaded.config.modes:
        known = ", ".join(sorted(loaded.config.modes))
        raise UsageError(f"unknown mode {mode!r}; the config defines: {known}")
    repo = open_repo_reading(settings, no_lock, "export")
    snap_id, snap = resolve(snapshot, repo.snapshots())
    subset = None
    if mode is not None:
        # The installation the snapshot recorded (an older snapshot: the one found now).
        inst = Installation.from_dict(snap.openclaw) if snap.openclaw else discover()
        subset = mode_subset(snap.sources, mode, loaded, inst)
    opts = ExportOptions(format=fmt, mode_subset=subset, mode=mode, includes=includes,
                         excludes=excludes, paths=paths, layout=layout,
                         gzip_level=loaded.config.gzip_level,
                         zstd_level=loaded.config.zstd_level)
    line = ProgressLine(settings)
    on_file = line.file_counter()

    if output == "-":
        if sys.stdout.isatty():
            raise UsageError("refusing to write an archive to a terminal; redirect stdout or "
                             "pass -o FILE")
        out = sys.stdout.buffer
        result = export_snapshot(repo.load_tree, repo.read_blobs, snap_id, snap, out, opts)
        out.flush()
        target = "-"
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(snap.time_ns / 1e9))
        target = output or f"{snap.hostname}-{stamp}-{snap_id[:8]}.{_EXT[fmt]}"
        path = Path(target)
        if path.exists() and not force:
            raise UsageError(f"{path} exists; pass --force to replace it or -o another name")
        removed = _remove_orphans(path.parent)
        if removed:
            notice(settings, f"removed {removed:,} partial archive{'' if removed == 1 else 's'} "
                             f"an interrupted export had left in {path.parent}")
        tmp = path.with_name(partial_name(_PARTIAL_PREFIX, _PARTIAL_SUFFIX))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                result = export_snapshot(repo.load_tree, repo.read_blobs, snap_id, snap,
                                         f, opts, on_file)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            fsync_dir(path.resolve().parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            line.clear()
    if settings.json:
        emit_json({"archive": target, "snapshot_id": snap_id, "format": fmt,
                   "files": result.files, "dirs": result.dirs, "symlinks": result.symlinks,
                   "bytes": result.bytes})
    elif target != "-":
        size = os.path.getsize(target)
        notice(settings, f"exported snapshot {snap_id[:8]}: {result.files:,} files "
                         f"({human_bytes(result.bytes)}) to {target} ({human_bytes(size)})")


#: An export in progress is written to ``.snapkit-export-<pid>-<hex>.tmp`` beside the output.
_PARTIAL_PREFIX = ".snapkit-export-"
_PARTIAL_SUFFIX = ".tmp"


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


@click.command("verify-archive")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@with_settings
def verify_archive_cmd(settings: Settings, archive: str) -> None:
    """Check an exported archive's files against the checksums it carries."""
    result = verify_archive(archive)
    if settings.json:
        emit_json({"archive": archive, "snapshot": result.snapshot, "layout": result.layout,
                   "ok": result.ok,
                   "checked": result.checked, "unchecked": result.unchecked,
                   "missing": result.missing,
                   "extra": result.extra, "mismatched": result.mismatched,
                   "damaged": result.damaged})
    else:
        if result.damaged:
            click.echo(f"DAMAGED  {archive}: {result.damaged}")
        for name in result.mismatched:
            click.echo(f"MISMATCH {name}")
        for name in result.missing:
            click.echo(f"MISSING  {name}")
        for name in result.extra:
            click.echo(f"EXTRA    {name}")
        if not settings.quiet:
            verdict = "OK" if result.ok else "FAILED"
            unchecked = (f" ({result.unchecked:,} carried no checksum)"
                         if result.unchecked else "")
            layout = " (OpenClaw layout)" if result.layout == "openclaw" else ""
            click.echo(f"{verdict}: {result.checked:,} files checked against snapshot "
                       f"{(result.snapshot or '?')[:8]}{layout}{unchecked}")
    if not result.ok:
        raise SystemExit(EXIT_FATAL)
