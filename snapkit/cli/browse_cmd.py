"""``snapkit show``, ``ls``, ``cat`` and ``find``: look inside snapshots
(:mod:`snapkit.ops.browse`; rendering in ``browse_view``)."""

from __future__ import annotations

import functools
import sys

import click

from snapkit.cli.common import Settings, echo_event, no_lock_option, repo_path, with_settings


@click.command("show")
@click.argument("snapshot")
@no_lock_option
@with_settings
def show(settings: Settings, snapshot: str, no_lock: bool) -> None:
    """Print a snapshot's manifest: sources, host, counts, service actions, skipped entries."""
    from snapkit.cli import browse_view
    from snapkit.ops import browse

    browse_view.show(settings, browse.show(repo_path(settings), snapshot, no_lock=no_lock,
                                           on_event=functools.partial(echo_event, settings)))


@click.command("ls")
@click.argument("snapshot")
@click.argument("path", required=False)
@click.option("-l", "--long", "long_form", is_flag=True, help="Mode, owner, size and mtime.")
@click.option("-R", "--recursive", is_flag=True, help="List subdirectories too.")
@no_lock_option
@with_settings
def ls(settings: Settings, snapshot: str, path: str | None, long_form: bool,
       recursive: bool, no_lock: bool) -> None:
    """List the entries of SNAPSHOT at PATH (default: each source).

    PATH is absolute, or relative to a source of the snapshot.
    """
    from snapkit.cli import browse_view
    from snapkit.ops import browse

    browse.ls(repo_path(settings), snapshot, path,
              functools.partial(browse_view.entry, settings, long_form), recursive=recursive,
              no_lock=no_lock, on_event=functools.partial(echo_event, settings))


@click.command("cat")
@click.argument("snapshot")
@click.argument("path")
@no_lock_option
@with_settings
def cat(settings: Settings, snapshot: str, path: str, no_lock: bool) -> None:
    """Write the content of one file of SNAPSHOT to stdout."""
    from snapkit.ops import browse

    out = sys.stdout.buffer
    browse.cat(repo_path(settings), snapshot, path, out.write, no_lock=no_lock,
               on_event=functools.partial(echo_event, settings))
    out.flush()


@click.command("find")
@click.argument("pattern")
@click.option("--snapshot", "-s", "snapshot_sel", metavar="ID",
              help="Search only this snapshot [default: all].")
@no_lock_option
@with_settings
def find_cmd(settings: Settings, pattern: str, snapshot_sel: str | None,
             no_lock: bool) -> None:
    """Which snapshots hold paths matching PATTERN (gitignore-style glob: `*.json`,
    `/home/me/.openclaw/credentials/**`), with size and mtime."""
    from snapkit.cli import browse_view
    from snapkit.ops import browse

    hits = browse.find(repo_path(settings), pattern, functools.partial(browse_view.found, settings),
                       snapshot=snapshot_sel, no_lock=no_lock,
                       on_event=functools.partial(echo_event, settings))
    if not hits:
        browse_view.no_match(settings, pattern)
