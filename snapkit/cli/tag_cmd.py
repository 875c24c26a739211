"""``snapkit tag``: add, remove or set the tags of snapshots."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, emit_json, repo_path, with_settings


@click.command("tag")
@click.argument("snapshots", nargs=-1, required=True)
@click.option("--add", "add", multiple=True, metavar="TAG", help="Add TAG (repeatable).")
@click.option("--remove", "remove", multiple=True, metavar="TAG", help="Remove TAG (repeatable).")
@click.option("--set", "set_to", multiple=True, metavar="TAG",
              help="Replace all tags by these (repeatable; before --add and --remove).")
@with_settings
def tag(settings: Settings, snapshots: tuple[str, ...], add: tuple[str, ...],
        remove: tuple[str, ...], set_to: tuple[str, ...]) -> None:
    """Add, remove or set the tags of SNAPSHOTS (ids, prefixes, `latest` or tags).

    A snapshot whose tags change gets a new id (its manifest is written again; the data is
    untouched): the old id no longer names it.
    """
    from snapkit.ops.tag import tag as retag

    done = retag(repo_path(settings), snapshots, add=add, remove=remove,
                 set_to=set_to or None)
    if settings.json:
        emit_json([{"old": r.old, "new": r.new, "tags": list(r.tags),
                    "changed": r.old != r.new} for r in done])
        return
    for r in done:
        if settings.quiet:
            click.echo(r.new)
        elif r.old == r.new:
            click.echo(f"{r.old[:8]} unchanged (tags: {', '.join(r.tags) or '-'})")
        else:
            click.echo(f"{r.old[:8]} -> {r.new[:8]} (tags: {', '.join(r.tags) or '-'})")
