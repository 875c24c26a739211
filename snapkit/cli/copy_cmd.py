"""``snapkit copy``: copy snapshots into another repository, sending only the data it lacks
(:mod:`snapkit.ops.copy`; rendering in ``copy_view``)."""

from __future__ import annotations

from dataclasses import replace

import click

from snapkit.cli.common import ProgressLine, Settings, repo_path, with_settings
from snapkit.format.errors import EXIT_FATAL


def _destination(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """``--to``: a path or URL; an empty one is a usage error naming the option."""
    if not value.strip():
        raise click.BadParameter("empty; give the destination repository's path or "
                                 "s3: URL")
    return value


@click.command("copy")
@click.argument("selectors", nargs=-1, metavar="[SNAPSHOT]...")
@click.option("--to", "to", required=True, metavar="PATH|URL", callback=_destination,
              help="The destination repository: a path or an s3: URL, as --repo takes. It "
                   "must exist (`snapkit init --repo PATH|URL`).")
@click.option("--host", metavar="NAME", help="Only snapshots of this host.")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only snapshots carrying TAG (repeatable: all of them).")
@click.option("--path", metavar="PATH",
              help="Only snapshots whose sources include PATH (relative: from here).")
@click.option("--to-password-file", metavar="FILE",
              help="The destination's passphrase, when it is encrypted (else "
                   "SNAPKIT_TO_PASSWORD_FILE, SNAPKIT_TO_PASSWORD_COMMAND, "
                   "SNAPKIT_TO_PASSWORD, then the source's passphrase, then a prompt).")
@click.option("--dry-run", "-n", is_flag=True,
              help="Say which snapshots would be copied and how much data sent; write "
                   "nothing (reads the trees, and the data too when ids are re-keyed).")
@with_settings
def copy(settings: Settings, selectors: tuple[str, ...], to: str, host: str | None,
         tags: tuple[str, ...], path: str | None, to_password_file: str | None,
         dry_run: bool) -> None:
    """Copy snapshots to another repository (e.g. local to S3), sending only the data it lacks.

    Copies SNAPSHOTs (ids, prefixes, `latest`, tags; default: every snapshot of --repo that
    --host/--tag/--path keep) that --to does not hold yet. Blobs are copied by id and written
    in the destination's own packs and index; each manifest is written after its data, under
    the same id, so a second run copies nothing and an interrupted one leaves both
    repositories valid (run it again to finish). When either is encrypted (or both, under
    different keys), ids are re-keyed: blobs are read and given the destination's ids (only
    those new since a snapshot it holds already), and the manifest gets a new id and records
    the source's as `original`, by which a second run knows it. A snapshot whose data cannot
    all be read from the source is not copied: it is named with the reason, and the exit code
    is 1 (as `snapkit check` exits on damage); a missing pack is found before its data is
    sent, and data sent before damage showed is named with the `prune` that frees it.

    \b
    snapkit init --repo s3:https://s3.example.com/bucket/laptop
    snapkit copy --to s3:https://s3.example.com/bucket/laptop
    snapkit copy latest --to /mnt/usb/snapkit --dry-run
    snapkit copy --to /mnt/usb/snapkit --to-password-file ~/.usb-passphrase
    """
    from snapkit.cli import copy_view
    from snapkit.ops.copy import copy as run_copy

    line = ProgressLine(settings, interval=0)  # the operation paces its progress events
    try:
        result = run_copy(repo_path(settings), repo_path(replace(settings, repo=to)),
                          selectors=selectors, host=host, tags=tags, path=path,
                          dry_run=dry_run, to_password_file=to_password_file,
                          on_event=copy_view.Watcher(settings, line).on_event)
    finally:
        line.clear()
    copy_view.render(settings, result)
    if result.damaged:
        raise SystemExit(EXIT_FATAL)
