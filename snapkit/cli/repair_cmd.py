"""``snapkit repair index|packs|snapshots``: repair a damaged repository
(:mod:`snapkit.ops.repair`; rendering in ``repair_view``)."""

from __future__ import annotations

import functools

import click

from snapkit.cli.common import Settings, echo_event, emit_json, repo_path, with_settings
from snapkit.format.errors import EXIT_FATAL

_DRY_RUN = click.option("--dry-run", "-n", is_flag=True,
                        help="Print what would be done; change nothing.")


@click.group("repair")
def repair() -> None:
    """Repair a damaged repository (each takes the exclusive lock).

    \b
    After damage, in this order (`snapkit check --read-data` says which):
    snapkit repair config              the config file is damaged or gone
    snapkit repair index               an index file is damaged or gone
    snapkit repair packs               a pack is damaged or gone
    snapkit repair snapshots --forget  then drop the lost files from the snapshots
    The next `snapkit snap` stores the lost data again from the live files.
    """


@repair.command("config")
@_DRY_RUN
@with_settings
def config_cmd(settings: Settings, dry_run: bool) -> None:
    """Write a damaged or missing config file again, from the defaults.

    Only where packs/, index/ and snapshots/ show a snapkit repository, and only after blobs
    read back with the default config check out. A new repository id is chosen. Exit 0 when
    the config is (now) fine, 1 when it could not be written safely.
    """
    from snapkit.cli import repair_view
    from snapkit.ops.repair import repair_config

    result = repair_config(repo_path(settings), dry_run=dry_run,
                           on_event=functools.partial(echo_event, settings))
    _finish(settings, repair_view.config_report(settings, result), result.ok)


@repair.command("index")
@_DRY_RUN
@with_settings
def index_cmd(settings: Settings, dry_run: bool) -> None:
    """Rebuild the index from the packs' trailers.

    A pack whose trailer is damaged is salvaged from the old index and by scanning its
    compressed blobs (run `snapkit repair packs` next to rewrite it). Every old index file
    is replaced. Exit 0 when every pack could be read, 1 otherwise.
    """
    from snapkit.cli import repair_view
    from snapkit.ops.repair import repair_index

    result = repair_index(repo_path(settings), dry_run=dry_run,
                          on_event=functools.partial(echo_event, settings))
    _finish(settings, repair_view.index_report(settings, result), result.ok)


@repair.command("packs")
@_DRY_RUN
@with_settings
def packs_cmd(settings: Settings, dry_run: bool) -> None:
    """Read every pack; copy the readable blobs of damaged ones into new packs.

    Damaged and missing packs leave the index, their lost blobs with them, so the next
    `snapkit snap` stores those chunks again from the live files. Prints the lost blobs and
    the snapshots that reference them (`snapkit repair snapshots` is next).
    """
    from snapkit.cli import repair_view
    from snapkit.ops.repair import repair_packs

    result = repair_packs(repo_path(settings), dry_run=dry_run,
                          on_event=functools.partial(echo_event, settings))
    _finish(settings, repair_view.packs_report(settings, result), result.ok)


@repair.command("snapshots")
@click.argument("selectors", nargs=-1, metavar="[SNAPSHOT]...")
@click.option("--forget", is_flag=True,
              help="Remove the originals once repaired, and the manifests that cannot be "
                   "read.")
@_DRY_RUN
@with_settings
def snapshots_cmd(settings: Settings, selectors: tuple[str, ...], forget: bool,
                  dry_run: bool) -> None:
    """Rewrite snapshots that reference lost data, without the lost parts.

    Files with lost content are removed; directories whose listing is lost are kept empty.
    Each repaired copy is tagged `repaired` and lists the lost paths and the original's id
    in its warnings; the original stays unless --forget. Checks every snapshot unless some
    are named. Exit 1 while something could not be repaired (a lost root, a damaged
    manifest without --forget).
    """
    from snapkit.cli import repair_view
    from snapkit.ops.repair import repair_snapshots

    result = repair_snapshots(repo_path(settings), selectors=selectors, forget=forget,
                              dry_run=dry_run, on_event=functools.partial(echo_event, settings))
    _finish(settings, repair_view.snapshots_report(settings, result), result.ok)


def _finish(settings: Settings, doc: dict[str, object], ok: bool) -> None:
    if settings.json:
        emit_json(doc)
    if not ok:
        raise SystemExit(EXIT_FATAL)
