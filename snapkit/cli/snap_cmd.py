"""``snapkit snap``: take a snapshot (:mod:`snapkit.ops.snap`; rendering in ``snap_view``)."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

import click

from snapkit.cli.common import ProgressLine, Settings, repo_path, with_settings

if TYPE_CHECKING:  # the command loads its modules when it runs
    from snapkit.select.config.defaults import ServicePolicy, SymlinkPolicy


@click.command("snap")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag the snapshot (repeatable).")
@click.option("--host", metavar="NAME", help="Host name to record [default: this machine's].")
@click.option("--parent", metavar="ID", help="Snapshot to compare against for unchanged files.")
@click.option("--force", is_flag=True, help="Re-read every file, ignoring the parent.")
@click.option("--mode", default="full", show_default=True, metavar="MODE",
              help="What to take from an OpenClaw state dir: full, config-only, or a mode "
                   "defined in the config.")
@click.option("--symlinks", type=click.Choice(["skip", "record"]), default=None,
              help="Skip symlinks (listed in the manifest) or record them as links; never "
                   "followed either way [default: config, else skip].")
@click.option("--exclude", "excludes", multiple=True, metavar="PATTERN",
              help="Also leave out paths matching PATTERN (gitignore-style, relative to each "
                   "source; repeatable).")
@click.option("--exclude-file", "exclude_files", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Also leave out the patterns listed in FILE, one a line ('#' comments and "
                   "blank lines ignored; repeatable).")
@click.option("--files-from", "files_from", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Also snapshot the paths listed in FILE, one a line ('#' comments and blank "
                   "lines ignored; '-' reads standard input; repeatable).")
@click.option("--exclude-if-present", "markers", multiple=True, metavar="NAME",
              help="Leave out every directory holding a file named NAME (repeatable).")
@click.option("--exclude-caches", is_flag=True,
              help="Leave out every directory holding a CACHEDIR.TAG with the cache directory "
                   "tag's signature.")
@click.option("--one-file-system", "-x", is_flag=True,
              help="Do not cross into other filesystems: a mount point below a source is left "
                   "out.")
@click.option("--dry-run", "-n", is_flag=True,
              help="Report what would be taken and what each rule excludes; touch no "
                   "repository.")
@click.option("--list", "list_paths", is_flag=True, help="With --dry-run: print every path.")
@click.option("--service-policy", type=click.Choice(["auto", "always", "never"]), default=None,
              help="When to stop the OpenClaw gateway around the snapshot [default: config "
                   "service.policy, else auto: only when files it holds open need it].")
@click.option("--no-service-control", is_flag=True,
              help="Never stop or start the gateway; go on best-effort with a warning.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before stopping the gateway.")
@with_settings
def snap(settings: Settings, paths: tuple[str, ...], tags: tuple[str, ...], host: str | None,
         parent: str | None, force: bool, mode: str, symlinks: SymlinkPolicy | None,
         excludes: tuple[str, ...], exclude_files: tuple[str, ...],
         files_from: tuple[str, ...], markers: tuple[str, ...], exclude_caches: bool,
         one_file_system: bool, dry_run: bool, list_paths: bool,
         service_policy: ServicePolicy | None, no_service_control: bool, yes: bool) -> None:
    """Snapshot PATHS (default: the OpenClaw installation) into the repository.

    With no PATHS, the OpenClaw state dir is discovered ($OPENCLAW_STATE_DIR, else
    ~/.openclaw, ...) with its workspaces; `snapkit where` shows what was found.

    \b
    snapkit snap              back up ~/.openclaw (or $OPENCLAW_STATE_DIR)
    snapkit snap .            back up the current directory
    snapkit snap --json       JSON lines: progress events, then a summary
    snapkit backup ...        the same command (as restic and borg users type it)
    """
    from snapkit.cli import snap_view
    from snapkit.ops.snap import SnapRequest, preview
    from snapkit.ops.snap import snap as take_snapshot
    from snapkit.select.cachedir import CACHEDIR_TAG

    paths = (*paths, *(p for f in files_from for p in listed_lines(f)))
    excludes = (*excludes, *(p for f in exclude_files for p in listed_lines(f)))
    if files_from and not paths:
        raise click.UsageError("--files-from lists no path (only comments or blank lines)")
    request = SnapRequest(paths=paths, tags=tags, host=host, parent=parent, force=force,
                          mode=mode, symlinks=symlinks, excludes=excludes, config=settings.config,
                          markers=(*markers, *((CACHEDIR_TAG,) if exclude_caches else ())),
                          one_file_system=one_file_system,
                          service_policy=service_policy, service_control=not no_service_control)
    if dry_run:
        from snapkit.cli.dryrun_view import render_dry_run

        render_dry_run(settings, preview(repo_path(settings), request, list_paths), list_paths)
        return
    line = ProgressLine(settings, interval=0)  # the operation paces its progress events
    try:
        result = take_snapshot(
            repo_path(settings), request, confirm=snap_view.prompt(settings, yes),
            on_event=functools.partial(snap_view.on_event, settings, line),
            progress_interval=1.0 if settings.json else 0.2)
    finally:
        line.clear()
    snap_view.finish(settings, result)


def listed_lines(name: str) -> list[str]:
    """The entries of a ``--files-from`` / ``--exclude-file`` list: one a line, without
    blank lines and ``#`` comments (``-``: standard input)."""
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            with open(name, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {name}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"cannot read {name}: not UTF-8 text ({exc})") from exc
    return [line.rstrip("\r") for line in text.split("\n")
            if line.strip() and not line.lstrip().startswith("#")]
