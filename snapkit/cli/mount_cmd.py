"""``snapkit mount``: every snapshot as a read-only filesystem (:mod:`snapkit.ops.mount`)."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from snapkit.cli.common import (
    Settings,
    echo_event,
    emit_json,
    no_lock_option,
    notice,
    repo_path,
    with_settings,
)


@click.command("mount")
@click.argument("mountpoint", type=click.Path(path_type=Path))
@no_lock_option
@with_settings
def mount(settings: Settings, mountpoint: Path, no_lock: bool) -> None:
    """Browse every snapshot in a read-only filesystem mounted at MOUNTPOINT (FUSE), until
    Ctrl-C or `umount MOUNTPOINT`.

    \b
    MOUNTPOINT/ids/<short id>/                 each snapshot by id
    MOUNTPOINT/snapshots/<time>/ and latest    by time (local, 2026-11-20T14:45:00)
    MOUNTPOINT/hosts/<host>/<time>/            by host, each with its latest
    MOUNTPOINT/tags/<tag>/<time>/              by tag, each with its latest

    Hosts and tags are file names with % escapes (/ is %2F, % is %25, . and .. are %2E and
    %2E%2E, an empty one %), so that no two share a directory. Below a
    snapshot are its sources at their full paths, with their stored modes, owners, sizes,
    times and symlinks; files are read from the repository as they are read. Damaged data,
    or a repository that cannot be reached, is an I/O error with one warning line; the
    mount reads again once the repository is back. Runs in the foreground holding the
    shared lock (forget, prune, tag and repair, which take the exclusive one, are refused
    meanwhile); new snapshots appear within a minute. Ctrl-C, SIGTERM and umount unmount it
    and exit 0. Needs FUSE: /dev/fuse, libfuse 2 or 3, and pip install 'snapkit[mount]'.
    """
    from snapkit.ops import mount as mount_op

    def mounted(event: mount_op.Mounted) -> None:
        if settings.json:
            emit_json({"event": "mounted", "mountpoint": event.mountpoint,
                       "snapshots": event.snapshots})
        else:
            notice(settings, f"mounted {event.snapshots} snapshot(s) at {event.mountpoint}; "
                             f"press Ctrl-C or run `umount {event.mountpoint}` to unmount")

    where = mount_op.mount(repo_path(settings), mountpoint, mounted, no_lock=no_lock,
                           on_event=functools.partial(echo_event, settings))
    if settings.json:
        emit_json({"event": "unmounted", "mountpoint": str(where)})
    else:
        notice(settings, f"unmounted {where}")
