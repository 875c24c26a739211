"""``snapkit import``: ingest a tar / tar.gz / tar.zst archive as a new snapshot
(:mod:`snapkit.ops.import_archive`; rendering in ``import_view``)."""

from __future__ import annotations

import functools

import click

from snapkit.cli.common import Settings, echo_event, repo_path, with_settings
from snapkit.format.errors import EXIT_INCOMPLETE


def tags_option(_ctx: click.Context, _param: click.Parameter,
                values: tuple[str, ...]) -> tuple[str, ...]:
    """``--tag``: each a valid tag (:func:`~snapkit.maintain.selection.check_label`)."""
    from snapkit.maintain.selection import check_label

    return tuple(check_label("tag", v) for v in values)


def host_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--host``: a valid host name (:func:`~snapkit.maintain.selection.check_label`)."""
    from snapkit.maintain.selection import check_label

    return None if value is None else check_label("host", value)


@click.command("import")
@click.argument("archive", type=click.Path(dir_okay=True))
@click.option("--tag", "tags", multiple=True, metavar="TAG", callback=tags_option,
              help="Tag the snapshot (repeatable; `imported` is always added).")
@click.option("--host", metavar="NAME", callback=host_option,
              help="Host name to record [default: the archive's (snapkit exports), else this "
                   "machine's].")
@with_settings
def import_cmd(settings: Settings, archive: str, tags: tuple[str, ...], host: str | None) -> None:
    """Import ARCHIVE (tar, tar.gz or tar.zst) as a new, deduplicated snapshot.

    Recognises `snapkit export` archives (metadata restored) and `openclaw backup create`
    archives (files mapped back to their absolute paths); any other tar goes under
    /imported/<archive name>. Nothing is written outside the repository.

    \b
    snapkit import host-20261120-090000-1a2b3c4d.tar.gz
    snapkit import 2026-11-20T09-00-00.000Z-openclaw-backup.tar.gz --tag moved
    """
    from snapkit.cli import import_view
    from snapkit.ops.import_archive import import_archive

    result = import_archive(repo_path(settings), archive, tags=tags, host=host,
                            on_event=functools.partial(echo_event, settings))
    if result.already_present:
        import_view.already_present(settings, archive, result)
        return
    import_view.report(settings, archive, result)
    if not result.complete:
        raise SystemExit(EXIT_INCOMPLETE)
