"""``snapkit init``: create a repository, encrypted or not (:mod:`snapkit.ops.init`)."""

from __future__ import annotations

import os

import click

from snapkit.cli.common import Settings, emit_json, notice, repo_path, with_settings
from snapkit.format.errors import Interrupted
from snapkit.store.location import redact


@click.command("init")
@click.option("--encryption", type=click.Choice(["repokey", "none"]), default=None,
              help="repokey: encrypt everything stored under a key that a passphrase opens "
                   "(asked twice, or SNAPKIT_PASSWORD_FILE / --password-file, "
                   "SNAPKIT_PASSWORD_COMMAND, SNAPKIT_PASSWORD). [default: repokey for s3: and "
                   "for a path outside your home directory or on another filesystem, else "
                   "none]")
@with_settings
def init(settings: Settings, encryption: str | None) -> None:
    """Create a new, empty repository at --repo (or the default path).

    \b
    snapkit init                                # plain in ~/.local/share/snapkit/repo
    snapkit init --repo /media/usb/snapkit      # another disk: encrypted, asks a passphrase
    snapkit init --repo s3:https://host/bucket  # encrypted
    snapkit init --repo /media/usb/snapkit --encryption none
    """
    try:  # (from the first import on: a signal there made nothing either)
        from snapkit.ops.init import init_repository

        made = init_repository(repo_path(settings), encryption)
    except (KeyboardInterrupt, Interrupted) as exc:
        from snapkit.ops.init import interrupted

        raise interrupted(repo_path(settings)) from exc
    from snapkit.ops.passphrase import given

    shown = redact(made.location)
    if settings.json:
        emit_json({"repository": shown, "id": made.id, "version": made.version,
                   "encrypted": made.encryption == "repokey", "encryption": made.encryption,
                   "key": made.key})
        return
    if not settings.quiet:
        how = "encrypted, repokey" if made.encryption == "repokey" else "not encrypted"
        click.echo(f"created repository {made.id[:8]} at {shown} ({how})")
    if encryption is None and made.encryption == "none" and given(os.environ):
        notice(settings, "snapkit: note: a passphrase was given, but a repository here is not "
                         "encrypted by default: `--encryption repokey` encrypts it")
    if made.encryption == "repokey":
        notice(settings, "snapkit: note: keep the passphrase safe: without it nothing in this "
                         "repository can be read, by anyone; `snapkit key add` makes a spare")
