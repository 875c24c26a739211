"""``snapkit diff A [B]``: what changed between two snapshots, or since a snapshot on disk
(:mod:`snapkit.ops.diff`; rendering in ``diff_view``)."""

from __future__ import annotations

import functools

import click

from snapkit.cli.common import Settings, echo_event, no_lock_option, repo_path, with_settings


@click.command("diff")
@click.argument("snapshot_a")
@click.argument("snapshot_b", required=False)
@click.option("--stat", "stat_only", is_flag=True, help="Print only the totals.")
@click.option("--name-only", is_flag=True, help="Print only the changed paths.")
@click.option("--include", "includes", multiple=True, metavar="GLOB",
              help="Only paths matching GLOB (gitignore-style, against the absolute path).")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="Leave out paths matching GLOB.")
@click.option("--content", is_flag=True,
              help="Against the live tree: hash files whose metadata differs and report only "
                   "real content changes.")
@no_lock_option
@with_settings
def diff(settings: Settings, snapshot_a: str, snapshot_b: str | None, stat_only: bool,
         name_only: bool, includes: tuple[str, ...], excludes: tuple[str, ...],
         content: bool, no_lock: bool) -> None:
    """Compare two snapshots, or (with one) a snapshot with the files on disk now.

    \b
    Markers: + added, - removed, M modified, T type changed, U metadata only.
    snapkit diff latest~1 latest       the latest snapshot and the one before it (same
                                       host, sources and mode); any id, prefix or tag
                                       works, with an optional ~N
    snapkit diff latest                what changed on disk since the latest snapshot
    """
    from snapkit.cli import diff_view
    from snapkit.ops.diff import diff as run_diff

    done = run_diff(repo_path(settings), snapshot_a, snapshot_b,
                    on_change=functools.partial(diff_view.change, settings, stat_only,
                                                name_only),
                    includes=includes, excludes=excludes, content=content,
                    config=settings.config, no_lock=no_lock,
                    on_event=functools.partial(echo_event, settings))
    diff_view.summary(settings, done, stat_only, name_only)
