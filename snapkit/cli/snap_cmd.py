"""``snapkit snap``: take a snapshot (:mod:`snapkit.ops.snap`; rendering in ``snap_view``)."""

from __future__ import annotations

import functools
import re
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from snapkit.cli.common import ProgressLine, Settings, repo_path, with_settings

if TYPE_CHECKING:  # the command loads its modules when it runs
    from snapkit.maintain.retention import KeepPolicy
    from snapkit.ops.snap import SnapResult
    from snapkit.select.config.defaults import ServicePolicy, SymlinkPolicy

#: A --time later than now by more than this gets a warning (clocks differ a little).
FUTURE_SLACK = 5 * 60
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?",
                   re.IGNORECASE)


def parse_time(_ctx: click.Context | None, _param: click.Parameter | None,
               value: str | None) -> int | None:
    """``--time``: ``YYYY-MM-DD HH:MM[:SS]`` in local time, or RFC 3339 with ``Z`` or an
    offset (``2026-01-10T09:30:00+01:00``), as ns since the epoch."""
    if value is None:
        return None
    text = value.strip()
    forms = ("write YYYY-MM-DD HH:MM[:SS] (local time) or RFC 3339 such as "
             "2026-01-10T09:30:00+01:00")
    if not _TIME.fullmatch(text):
        raise click.BadParameter(f"{value!r} is not a time; {forms}")
    fraction = re.search(r"\.(\d+)", text)
    try:
        when = datetime.fromisoformat(re.sub(r"\.\d+", "", text).upper().replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a time ({exc}); {forms}") from exc
    seconds = int(when.astimezone(UTC).timestamp())  # a naive time is local time
    if seconds > time.time() + FUTURE_SLACK:
        click.echo(f"snapkit: warning: --time {text} is in the future: this snapshot will be "
                   "`latest` until then, whatever is taken after it", err=True)
    return seconds * 1_000_000_000 + (int(fraction.group(1).ljust(9, "0")) if fraction else 0)


def tags_option(_ctx: click.Context, _param: click.Parameter,
                values: tuple[str, ...]) -> tuple[str, ...]:
    """``--tag``: each a valid tag (:func:`~snapkit.maintain.selection.check_label`)."""
    from snapkit.maintain.selection import check_label

    return tuple(check_label("tag", v) for v in values)


def host_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--host``: a valid host name (:func:`~snapkit.maintain.selection.check_label`)."""
    from snapkit.maintain.selection import check_label

    return None if value is None else check_label("host", value)


@click.command("snap")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--tag", "tags", multiple=True, metavar="TAG", callback=tags_option,
              help="Tag the snapshot (repeatable).")
@click.option("--host", metavar="NAME", callback=host_option,
              help="Host name to record [default: this machine's].")
@click.option("--parent", metavar="ID", help="Snapshot to compare against for unchanged files.")
@click.option("--force", is_flag=True,
              help="Re-read every file (the parent only tells new, changed and unmodified "
              "ones apart).")
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
@click.option("--time", "time_ns", metavar="TIME", callback=parse_time,
              help="Record TIME as the snapshot's time, as restic's backup --time (imports, "
                   "tests): YYYY-MM-DD HH:MM[:SS] local time, or RFC 3339 with an offset. The "
                   "real start is recorded too, for the files cache [default: now].")
@click.option("--forget", "then_forget", is_flag=True,
              help="Then apply the config's \"retention\" to this snapshot's group (host, "
                   "sources, mode) and prune, as `forget --prune` does.")
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
         one_file_system: bool, time_ns: int | None, then_forget: bool, dry_run: bool,
         list_paths: bool,
         service_policy: ServicePolicy | None, no_service_control: bool, yes: bool) -> None:
    """Snapshot PATHS (default: the OpenClaw installation) into the repository.

    With no PATHS, the OpenClaw state dir is discovered ($OPENCLAW_STATE_DIR, else
    ~/.openclaw, ...) with its workspaces; `snapkit where` shows what was found.

    \b
    snapkit snap              back up ~/.openclaw (or $OPENCLAW_STATE_DIR)
    snapkit snap .            back up the current directory
    snapkit snap --json       JSON lines: progress events, then a summary
    snapkit snap --forget     then forget by the config's retention, and prune
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
                          one_file_system=one_file_system, time_ns=time_ns,
                          service_policy=service_policy, service_control=not no_service_control)
    if dry_run and then_forget:
        raise click.UsageError("--dry-run takes no snapshot, so there is nothing to --forget "
                               "after; drop one (`snapkit forget --dry-run` previews a forget)")
    policy = None
    if then_forget:  # no retention in the config: stop before anything is done
        from snapkit.ops.snap_forget import config_policy

        policy = config_policy(settings.config)
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
    if policy is None:
        snap_view.finish(settings, result)
    else:
        forget_after(settings, result, policy)


def forget_after(settings: Settings, result: SnapResult, policy: KeepPolicy) -> None:
    """``--forget``: the snapshot's report, then the forget and prune of its group, then the
    exit status (see ``snap_forget_view.finish``)."""
    from snapkit.cli import forget_view, snap_forget_view, snap_view
    from snapkit.ops.snap_forget import forget_group

    if not settings.json:
        snap_view.report(settings, result, snap_view.exit_code(result.snapshot))
        if not settings.quiet:
            click.echo()
    line = ProgressLine(settings, interval=0)
    try:
        outcome = forget_group(
            repo_path(settings), result, policy,
            on_event=functools.partial(forget_view.on_event, settings, line, policy),
            progress_interval=1.0 if settings.json else 0.2)
    finally:
        line.clear()
    snap_forget_view.finish(settings, result, outcome)


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
