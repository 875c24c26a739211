"""``snapkit unlock``: remove stale locks (``--all``: every lock)."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, emit_json, local_time, repo_path, with_settings
from snapkit.store.lock import LockInfo


def _describe(lock: LockInfo) -> str:
    if lock.damaged:
        return f"{lock.name} (damaged lock file)"
    kind = "exclusive" if lock.exclusive else "shared"
    since = f", since {local_time(int(lock.time * 1e9))}" if lock.time is not None else ""
    return f"{lock.name} ({kind}, {lock.operation or '?'} by pid {lock.pid} on {lock.host}{since})"


@click.command("unlock")
@click.option("--all", "remove_all", is_flag=True,
              help="Remove every lock, also those of processes that may still run (only when "
                   "no other snapkit uses the repository).")
@with_settings
def unlock(settings: Settings, remove_all: bool) -> None:
    """Remove stale locks: those whose process is gone (same host), or not refreshed for 30
    minutes (another host), or damaged.

    A command that cannot get its lock exits 11 and names the holder. Other commands already
    remove stale locks they meet; this is for looking, and for --all.
    """
    from snapkit.ops.repo import open_repository
    from snapkit.store.lock import unlock as remove_locks

    repo = open_repository(repo_path(settings))
    removed, kept = remove_locks(repo.backend, remove_all, repo.cipher)
    if settings.json:
        emit_json({"removed": [vars(k) for k in removed], "kept": [vars(k) for k in kept]})
        return
    if remove_all and removed and not settings.quiet:
        click.echo(f"snapkit: warning: removed {len(removed)} lock(s) without checking their "
                   "holders; a snapkit still running on this repository is no longer "
                   "protected from prune", err=True)
    if settings.quiet:
        return
    for lock in removed:
        click.echo(f"removed {_describe(lock)}")
    for lock in kept:
        click.echo(f"kept    {_describe(lock)}: its process runs (--all removes it)")
    if not removed and not kept:
        click.echo("no locks")
