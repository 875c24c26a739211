"""``snapkit key add|list|remove|passwd``: the passphrases of an encrypted repository
(:mod:`snapkit.ops.keys`; rendering in ``key_view``)."""

from __future__ import annotations

import click

from snapkit.cli.common import Settings, repo_path, with_settings

_new_password_file = click.option(
    "--new-password-file", metavar="FILE",
    help="Read the new passphrase from FILE (one trailing newline removed) [default: asked "
         "twice on the terminal].")


@click.group("key")
def key() -> None:
    """Manage the passphrases of an encrypted repository: add, list, remove, passwd.

    Each passphrase opens its own key file, which wraps the repository's one master key: a
    second passphrase (a spare kept in a safe) survives forgetting the first. The current
    passphrase comes from --password-file, SNAPKIT_PASSWORD_FILE, SNAPKIT_PASSWORD_COMMAND or
    SNAPKIT_PASSWORD, else it is asked.

    \b
    snapkit key add                 add a passphrase (asked twice)
    snapkit key list                the key files; * marks the one in use
    snapkit key remove ID           retire one (never the last; the master key stays)
    snapkit key passwd              change the passphrase in use
    """


@key.command("list")
@with_settings
def list_cmd(settings: Settings) -> None:
    """List the key files: id, created, host, user; * marks the one in use."""
    from snapkit.cli import key_view
    from snapkit.ops.keys import list_keys

    key_view.listing(settings, list_keys(repo_path(settings)))


@key.command("add")
@_new_password_file
@with_settings
def add(settings: Settings, new_password_file: str | None) -> None:
    """Add a passphrase: a new key file opening the repository with it (refused when it
    already opens one)."""
    from snapkit.cli import key_view
    from snapkit.ops.keys import add_key, new_passphrase

    key_view.changed(settings, add_key(repo_path(settings), new_passphrase(new_password_file)))


@key.command("remove")
@click.argument("key_id", metavar="ID")
@click.option("--force", is_flag=True,
              help="Remove the key file the current passphrase opened (another must remain).")
@with_settings
def remove(settings: Settings, key_id: str, force: bool) -> None:
    """Remove key file ID (or a unique prefix of 4+ hex digits): its passphrase no longer
    opens the repository. Never the last key file. The master key does not change: whoever
    kept a copy of that key file and knows its passphrase can still read the repository."""
    from snapkit.cli import key_view
    from snapkit.ops.keys import remove_key

    key_view.changed(settings, remove_key(repo_path(settings), key_id, force))


@key.command("passwd")
@_new_password_file
@with_settings
def passwd(settings: Settings, new_password_file: str | None) -> None:
    """Change the passphrase in use: its key file is replaced by one for the new passphrase
    (refused when it already opens one; the other key files keep working)."""
    from snapkit.cli import key_view
    from snapkit.ops.keys import change_passphrase, new_passphrase

    key_view.changed(settings, change_passphrase(repo_path(settings),
                                                 new_passphrase(new_password_file)))
