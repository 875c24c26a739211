"""``snapkit init``: create a repository, encrypted or not, and the default for each place.

The default (``docs/guide.md``, "Encrypted repositories"): an ``s3:`` repository, a local one
outside the home directory, and one inside it on another filesystem (a USB disk, a NAS or
network mount) are encrypted (``repokey``); a local one inside the home directory on its own
filesystem is not (``none``): whoever can read that disk can read the originals it backs up
(``~/.openclaw`` holds its own secrets in plain files), while an encrypted repository costs a
passphrase at every run and a lost passphrase loses every backup. The first ``snap`` or
``import`` creates a repository by itself only where the default is ``none``
(``snapkit.ops.repo.open_repository``): elsewhere the choice, and the passphrase, are made once
with ``snapkit init``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from snapkit.format.errors import Interrupted, PassphraseNeeded, UsageError
from snapkit.ops.passphrase import HOW, given
from snapkit.ops.repo import Location, ask_passphrase, default_encryption
from snapkit.store.connect import backend_for
from snapkit.store.repository import Repository, is_vacant

ENCRYPTIONS = ("repokey", "none")


@dataclass(frozen=True)
class Created:
    """What ``snapkit init`` made."""

    location: str
    id: str
    version: int
    encryption: str  # "repokey" | "none"
    #: why this encryption: "chosen" (--encryption), or the default's reason
    reason: str
    key: str | None  # the first key file's id (encrypted)


def init_repository(location: Location, encryption: str | None = None,
                    passphrase: Callable[[bool], bytes] = ask_passphrase) -> Created:
    """Create the repository at ``location``: encrypted (``repokey``) or not (``none``), by
    default as :func:`default_encryption` says. The new passphrase is asked for
    (``passphrase(True)``) only once the place is known to be free."""
    if encryption is not None and encryption not in ENCRYPTIONS:
        raise UsageError(f"unknown encryption {encryption!r}; use repokey or none")
    mode, reason = (encryption, "chosen") if encryption else default_encryption(location)
    with _nothing_made_if_interrupted(location):
        return _init(location, encryption, mode, reason, passphrase)


@contextmanager
def _nothing_made_if_interrupted(location: Location) -> Iterator[None]:
    """Ctrl-C or SIGTERM before the config is written: ``Repository.init`` removed what it made,
    and the message says so (not that a repository is still valid)."""
    try:
        yield
    except (KeyboardInterrupt, Interrupted) as exc:
        raise interrupted(location) from exc


def interrupted(location: Location) -> Interrupted:
    """The error for ``init`` interrupted: no repository was created, unless its config was
    written already (then the usual one: the repository is valid)."""
    if backend_for(location).exists():
        return Interrupted("interrupted; the repository was created and is valid")
    return Interrupted(f"interrupted; no repository was created at {location} (run "
                       "`snapkit init` again)")


def _init(location: Location, encryption: str | None, mode: str, reason: str,
          passphrase: Callable[[bool], bytes]) -> Created:
    backend = backend_for(location)
    if mode == "repokey" and not backend.exists() and is_vacant(backend):
        if encryption is None and not given(os.environ):
            if not sys.stdin.isatty():
                raise PassphraseNeeded(f"{location} is {reason}, so it is encrypted by default "
                                       f"and needs a passphrase: {HOW}; or pass --encryption "
                                       "none for a plain repository")
            # (before the prompt: why a passphrase is asked for at all)
            print(f"snapkit: note: {location} is {reason}, so it is encrypted by default "
                  "(--encryption none for a plain one); choose its passphrase",
                  file=sys.stderr, flush=True)
        secret: bytes | None = passphrase(True)
    else:
        secret = None  # (Repository.init names what is in the way)
    repo = Repository.init(location, passphrase=secret if mode == "repokey" else None)
    return Created(str(repo.backend.location), repo.config.id, repo.config.version,
                   "repokey" if repo.cipher.encrypted else "none", reason, _first_key(repo))


def _first_key(repo: Repository) -> str | None:
    if not repo.cipher.encrypted:
        return None
    return next(iter(sorted(repo.backend.list("keys"))), None)

