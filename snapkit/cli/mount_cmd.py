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

    Below a snapshot are its sources at their full paths, with their stored modes, owners,
    sizes, times and symlinks; files are read from the repository as they are read. Runs in
    the foreground holding the shared lock (forget and prune are refused meanwhile); new
    snapshots appear within a minute. Needs FUSE: /dev/fuse, libfuse 2 or 3, and
    pip install 'snapkit[mount]'.
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
