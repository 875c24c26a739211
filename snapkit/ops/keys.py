"""``snapkit key``: the passphrases of an encrypted repository (its key files).

Each key file wraps the one master key with one passphrase (``snapkit.store.keys``): adding a
key gives another passphrase (a spare in a safe, a second person), removing one stops its
passphrase from opening the repository (the master key stays: a copy of that key file still
opens it with that passphrase), ``passwd`` changes the one in use. The repository is opened
with the current passphrase from the usual sources (``snapkit.ops.passphrase``); a new
passphrase comes from a file (``--new-password-file``) or is asked twice on the terminal —
never from the variables that give the current one — and is refused when it already opens a
key file (one passphrase, one key file: so ``passwd`` retires a passphrase for sure). Every
change holds the exclusive lock. A key is named by its id or a prefix of at least
:data:`MIN_PREFIX` hex digits.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from snapkit.format.crypto import KdfParams
from snapkit.format.errors import IntegrityError, PassphraseNeeded, UsageError, WrongPassphrase
from snapkit.ops.passphrase import passphrase
from snapkit.ops.repo import Location, ask_passphrase, open_repository
from snapkit.store import keys
from snapkit.store.cipher import Sealed
from snapkit.store.keys import KeyInfo
from snapkit.store.repository import Repository

#: Gives the new passphrase (asked twice on a terminal).
NewPassphrase = Callable[[], bytes]
#: The fewest hex digits of a key id that name it (as for snapshot ids).
MIN_PREFIX = 4


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
    #: ``passwd``: the key file the old passphrase still opens (one made twice for it by an
    #: earlier version), None when it opens none now
    old_opens: str | None = None


def created_ns(created: str) -> int | None:
    """A key file's ``created`` (``2026-12-01T11:20:29+0000``) in nanoseconds since the
    epoch; None when it is not such a time (a key file written by hand)."""
    try:
        return int(datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z").timestamp()) * 10**9
    except ValueError:
        return None


def new_passphrase(password_file: str | None = None) -> NewPassphrase:
    """The new passphrase: ``password_file``'s content, else asked twice on the terminal."""
    import getpass

    def ask() -> bytes:
        if password_file is None and not sys.stdin.isatty():
            raise PassphraseNeeded("a new passphrase is needed: pass --new-password-file FILE, "
                                   "or run on a terminal to be asked")
        prompt = (lambda text: getpass.getpass(f"{text}: ")) if password_file is None else None
        return passphrase({}, password_file, prompt, new=True)

    return ask


def _encrypted(location: Location,
               current: Callable[[], bytes] = ask_passphrase) -> Repository:
    repo = open_repository(location, passphrase=current)
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
    """The key file ``key_id`` names (the full id or a unique prefix of at least
    :data:`MIN_PREFIX` hex digits)."""
    if len(key_id) < MIN_PREFIX or not all(c in string.hexdigits for c in key_id):
        raise UsageError(f"{key_id!r} is not a key id: give at least {MIN_PREFIX} hex digits "
                         "of one (`snapkit key list` shows them)")
    names = sorted(repo.backend.list("keys"))
    matches = [n for n in names if n.startswith(key_id.lower())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no key {key_id!r} in {repo.backend.location}; `snapkit key list` "
                         "shows the ids")
    raise UsageError(f"key id {key_id!r} is ambiguous ({len(matches)} keys start with it); "
                     "give more of it")


def _opens(repo: Repository, secret: bytes) -> str | None:
    """The key file ``secret`` opens (tried on each: scrypt's cost each), else None."""
    try:
        return keys.unlock(repo.backend, secret, str(repo.backend.location))[0]
    except (WrongPassphrase, IntegrityError):
        return None


def _refuse_taken(repo: Repository, secret: bytes) -> None:
    """A new passphrase that already opens a key file is refused, naming it."""
    name = _opens(repo, secret)
    if name is not None:
        which = " (the one in use)" if name == repo.key_name else ""
        raise UsageError(f"the new passphrase already opens key {name[:8]}{which}: a second "
                         "key file for it adds nothing; choose another passphrase")


def add_key(location: Location, new: NewPassphrase, kdf: KdfParams | None = None) -> KeyChange:
    """Add a key file opening the repository with the passphrase ``new()`` gives (refused
    when that passphrase opens one already)."""
    repo = _encrypted(location)
    assert isinstance(repo.cipher, Sealed)
    secret = new()
    with repo.lock(exclusive=True, operation="key add"):
        _refuse_taken(repo, secret)
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
    """Replace the key file in use by one opening the repository with ``new()`` (refused when
    that passphrase opens one already; the other key files are untouched). Afterwards the old
    passphrase is tried on the others: ``old_opens`` says whether it still opens one."""
    current: list[bytes] = []

    def given() -> bytes:
        current.append(ask_passphrase())
        return current[-1]

    repo = _encrypted(location, given)
    assert isinstance(repo.cipher, Sealed) and repo.key_name is not None
    secret = new()
    with repo.lock(exclusive=True, operation="key passwd"):
        _refuse_taken(repo, secret)
        added = keys.change_passphrase(repo.backend, repo.key_name, repo.cipher.key, secret, kdf)
        still = _opens(repo, current[-1]) if current else None
    return KeyChange(str(repo.backend.location), added, repo.key_name, _count(repo), still)


def _count(repo: Repository) -> int:
    return sum(1 for _ in repo.backend.list("keys"))

