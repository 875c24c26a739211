"""Rendering of ``snapkit key``: the key file table, and what a change did (text or JSON)."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, emit_json, json_time, local_time, notice
from snapkit.ops.keys import KeyChange, KeyListing, created_ns
from snapkit.store.keys import KeyInfo
from snapkit.store.location import redact


def _created(key: KeyInfo, json: bool) -> str:
    """When a key file was made, as ``snapshots`` shows times (as written when it is not a
    time snapkit wrote)."""
    ns = created_ns(key.created)
    if ns is None:
        return key.created
    return json_time(ns) if json else local_time(ns)


def listing(settings: Settings, result: KeyListing) -> None:
    """The key files, oldest first; ``*`` marks the one the passphrase opened."""
    if settings.json:
        emit_json({"repository": redact(result.location), "in_use": result.in_use,
                   "keys": [{"id": k.id, "short_id": k.id[:8], "created": _created(k, True),
                             "created_ns": created_ns(k.created), "host": k.host,
                             "user": k.user, "in_use": k.id == result.in_use}
                            for k in result.keys],
                   "unreadable": result.broken})
        return
    rows = [("", "ID", "CREATED", "HOST", "USER")]
    rows += [("*" if k.id == result.in_use else "", k.id[:8], _created(k, False), k.host,
              k.user) for k in result.keys]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    for name, why in sorted(result.broken.items()):
        click.echo(f"snapkit: warning: key file {name} cannot be read ({why})", err=True)
    if not settings.quiet:
        n = len(result.keys)
        click.echo(f"{n} key{'' if n == 1 else 's'}")


def changed(settings: Settings, change: KeyChange) -> None:
    """What ``key add``, ``remove`` or ``passwd`` did."""
    passwd = bool(change.added and change.removed)
    if settings.json:
        doc = {"repository": redact(change.location), "added": change.added,
               "removed": change.removed, "keys": change.keys}
        emit_json({**doc, "old_passphrase_opens": change.old_opens} if passwd else doc)
        return
    if passwd:
        old = change.old_opens
        still = ("the old passphrase no longer opens the repository" if old is None else
                 f"the old passphrase still opens key {old[:8]}: `snapkit key remove {old[:8]}` "
                 "retires it")
        click.echo(f"changed the passphrase: key {str(change.added)[:8]} replaces "
                   f"{str(change.removed)[:8]} ({still})")
    elif change.added:
        click.echo(f"added key {change.added[:8]}; {change.keys} keys now open the repository")
    elif change.removed:
        click.echo(f"removed key {change.removed[:8]}; {change.keys} "
                   f"key{'' if change.keys == 1 else 's'} left")
    if change.keys == 1:
        notice(settings, "snapkit: note: one passphrase opens this repository; losing it loses "
                         "every backup (`snapkit key add` makes a spare)")
