"""``snapkit export`` (:mod:`snapkit.ops.export`) and ``snapkit verify-archive``
(:mod:`snapkit.read.archive_verify`); rendering in ``export_view``."""

from __future__ import annotations

import sys

import click

from snapkit.cli.common import FileProgress, Settings, no_lock_option, repo_path, with_settings
from snapkit.format.errors import EXIT_FATAL


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
@click.option("--fail-fast", is_flag=True,
              help="Stop at the first damaged file and write no archive (default: leave out "
                   "and list what cannot be read, exit 1).")
@no_lock_option
@with_settings
def export(settings: Settings, snapshot: str, output: str | None, fmt: str | None,
           mode: str | None, includes: tuple[str, ...], excludes: tuple[str, ...], paths: str,
           layout: str, force: bool, fail_fast: bool, no_lock: bool) -> None:
    """Write SNAPSHOT as a standard archive that plain `tar -xzf` restores anywhere.

    \b
    snapkit export latest                          # ./<host>-<time>-<id>.tar.gz
    snapkit export latest --mode config-only -o cfg.tar.gz
    snapkit export latest --layout openclaw -o oc.tar.gz   # for openclaw backup restore
    tar -xzf <archive> -C /                        # put every file back in place

    On a damaged repository, files that cannot be read are left out and listed (exit 1).
    With --json: JSON lines, progress events (of the totals: percent, ETA), then a summary
    (with -o -: only the summary, on stderr).
    """
    from snapkit.cli import export_view
    from snapkit.ops.export import export_to

    # (with the archive on stdout, --json gives only the summary, on stderr)
    with FileProgress(settings, export_view.partials_removed(settings),
                      json_events=output != "-") as progress:
        done = export_to(repo_path(settings), snapshot,
                         sys.stdout.buffer if output == "-" else output, fmt=fmt, mode=mode,
                         includes=includes, excludes=excludes, paths=paths, layout=layout,
                         force=force, no_lock=no_lock, config=settings.config,
                         fail_fast=fail_fast, on_event=progress.on_event,
                         progress_interval=1.0 if settings.json else 0.2)
    export_view.report(settings, done)
    if done.result.omitted:
        raise SystemExit(EXIT_FATAL)


@click.command("verify-archive")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@with_settings
def verify_archive_cmd(settings: Settings, archive: str) -> None:
    """Check an exported archive's files against the checksums it carries."""
    from snapkit.cli import export_view
    from snapkit.read.archive_verify import verify_archive

    result = verify_archive(archive)
    export_view.verdict(settings, archive, result)
    if not result.ok:
        raise SystemExit(EXIT_FATAL)
