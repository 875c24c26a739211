"""``snapkit key``: the passphrases of an encrypted repository (its key files).

Each key file wraps the one master key with one passphrase (``snapkit.store.keys``): adding a
key gives another passphrase (a spare in a safe, a second person), removing one revokes it,
``passwd`` changes the one in use. The repository is opened with the current passphrase from
the usual sources (``snapkit.ops.passphrase``); a new passphrase comes from a file
(``--new-password-file``) or is asked twice on the terminal — never from the variables that
give the current one. Every change holds the exclusive lock.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from snapkit.format.crypto import KdfParams
from snapkit.format.errors import UsageError
from snapkit.ops.passphrase import passphrase
from snapkit.ops.repo import Location, open_repository
from snapkit.store import keys
from snapkit.store.cipher import Sealed
from snapkit.store.keys import KeyInfo
from snapkit.store.repository import Repository

#: Gives the new passphrase (asked twice on a terminal).
NewPassphrase = Callable[[], bytes]


@dataclass(frozen=True)
class KeyListing:
    """``snapkit key list``: the key files, the one this passphrase opened, the unreadable."""

    location: str
    keys: tuple[KeyInfo, ...]
    in_use: str | None
    broken: dict[str, str]


@dataclass(frozen=True)
class KeyChange:
    """What ``key add``, ``key remove`` or ``key passwd`` did."""

    location: str
    added: str | None
    removed: str | None
    keys: int  # how many key files the repository has now


def new_passphrase(password_file: str | None = None) -> NewPassphrase:
    """The new passphrase: ``password_file``'s content, else asked twice on the terminal."""
    import getpass

    def ask() -> bytes:
        if password_file is None and not sys.stdin.isatty():
            raise UsageError("a new passphrase is needed: pass --new-password-file FILE, or "
                             "run on a terminal to be asked")
        prompt = (lambda text: getpass.getpass(f"{text}: ")) if password_file is None else None
        return passphrase({}, password_file, prompt, new=True)

    return ask


def _encrypted(location: Location) -> Repository:
    repo = open_repository(location)
    if not isinstance(repo.cipher, Sealed):
        raise UsageError(f"the repository at {repo.backend.location} is not encrypted: it has "
                         "no keys (`snapkit init --encryption repokey` creates an encrypted one)")
    return repo


def list_keys(location: Location) -> KeyListing:
    """The key files of the repository at ``location``, oldest first."""
    repo = _encrypted(location)
    found, broken = keys.list_keys(repo.backend)
    return KeyListing(str(repo.backend.location), tuple(found), repo.key_name, broken)


def _resolve(repo: Repository, key_id: str) -> str:
    """The key file ``key_id`` names (the full id or a unique prefix)."""
    names = sorted(repo.backend.list("keys"))
    matches = [n for n in names if n.startswith(key_id.lower())] if key_id else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no key {key_id!r} in {repo.backend.location}; `snapkit key list` "
                         "shows the ids")
    raise UsageError(f"key id {key_id!r} is ambiguous ({len(matches)} keys start with it); "
                     "give more of it")


def add_key(location: Location, new: NewPassphrase, kdf: KdfParams | None = None) -> KeyChange:
    """Add a key file opening the repository with the passphrase ``new()`` gives."""
    repo = _encrypted(location)
    assert isinstance(repo.cipher, Sealed)
    secret = new()
    with repo.lock(exclusive=True, operation="key add"):
        added = keys.add_key(repo.backend, repo.cipher.key, secret, kdf)
    return KeyChange(str(repo.backend.location), added, None, _count(repo))


def remove_key(location: Location, key_id: str, force: bool = False) -> KeyChange:
    """Remove key file ``key_id``: never the last one, nor the one in use without ``force``."""
    repo = _encrypted(location)
    with repo.lock(exclusive=True, operation="key remove"):
        name = _resolve(repo, key_id)
        keys.remove_key(repo.backend, name, repo.key_name, force)
    return KeyChange(str(repo.backend.location), None, name, _count(repo))


def change_passphrase(location: Location, new: NewPassphrase,
                      kdf: KdfParams | None = None) -> KeyChange:
    """Replace the key file in use by one opening the repository with ``new()`` (the old
    passphrase stops working; the other key files are untouched)."""
    repo = _encrypted(location)
    assert isinstance(repo.cipher, Sealed) and repo.key_name is not None
    secret = new()
    with repo.lock(exclusive=True, operation="key passwd"):
        added = keys.change_passphrase(repo.backend, repo.key_name, repo.cipher.key, secret, kdf)
    return KeyChange(str(repo.backend.location), added, repo.key_name, _count(repo))


def _count(repo: Repository) -> int:
    return sum(1 for _ in repo.backend.list("keys"))

