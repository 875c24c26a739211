"""Opening the repository for an operation, and the locks operations hold.

Adding data (``snap``, ``import``) and reading (``restore``, ``export``, ``diff``, ``check``
and the browsing commands) take a shared lock; removing data (``forget``, ``prune``) an
exclusive one, so a prune never deletes a pack a reader is reading (:mod:`snapkit.store.lock`
has the lock files). A reader may go without a lock: when asked (``no_lock``), or after a
:class:`~snapkit.ops.events.ReadingUnlocked` event when the lock cannot be written at all
(a read-only mount, no write permission).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from snapkit.format.errors import (
    PassphraseNeeded,
    RepositoryMissing,
    RepositoryReadOnly,
    WrongPassphrase,
)
from snapkit.ops.events import (
    OnEvent,
    ReadingUnlocked,
    RepositoryCreated,
    RepositoryDamaged,
    ignore,
)
from snapkit.store.repository import Repository, is_vacant

#: Where a repository is: a local directory, or an ``s3:`` URL.
Location = Path | str


def ask_passphrase(new: bool = False) -> bytes:
    """The passphrase from where :func:`snapkit.ops.passphrase.passphrase` looks (the
    environment, then a prompt when standard input is a terminal); PassphraseNeeded (exit 12)
    when there is none to open a repository with."""
    import getpass

    from snapkit.ops.passphrase import HOW, given, passphrase

    tty = sys.stdin.isatty()
    if not new and not tty and not given(os.environ):  # exit 12, as a wrong one: same fix
        raise PassphraseNeeded(f"this repository is encrypted and no passphrase was given: {HOW}")
    prompt = (lambda text: getpass.getpass(f"{text}: ")) if tty else None
    return passphrase(os.environ, prompt=prompt, new=new)


def _device(path: Path) -> int | None:
    """The filesystem (``st_dev``) of ``path``, or of its nearest existing parent."""
    for p in (path, *path.parents):
        try:
            return os.stat(p).st_dev
        except OSError:
            continue
    return None


def default_encryption(location: Location) -> tuple[str, str]:
    """The encryption a new repository at ``location`` gets by default (``repokey`` or
    ``none``), and where it is, as a phrase for messages: ``repokey`` for S3, for a local path
    outside the home directory, and for one in it but on another filesystem (a disk mounted
    there); ``none`` only inside the home directory on its own filesystem (``docs/guide.md``,
    "Encrypted repositories")."""
    from snapkit.store.location import is_remote

    if is_remote(location):
        return "repokey", "an S3 repository"
    home = Path.home().resolve()
    path = Path(os.path.abspath(Path(location).expanduser()))
    if not path.resolve().is_relative_to(home):
        return "repokey", "outside your home directory"
    here = _device(path)
    if here is None or here != _device(home):
        return "repokey", "on another filesystem than your home directory"
    return "none", "in your home directory"


def open_repository(location: Location, *, create: bool = False, on_event: OnEvent = ignore,
                    passphrase: Callable[[], bytes] = ask_passphrase) -> Repository:
    """Open the repository at ``location``; with ``create``, make an empty one first when
    nothing is stored there yet (reported as :class:`RepositoryCreated`) — only where the
    default is not to encrypt (:func:`default_encryption`; elsewhere ``snapkit init`` chooses,
    and asks for the passphrase). What is skipped as
    damaged, now or later, is reported as :class:`RepositoryDamaged`. An encrypted one is
    unlocked with ``passphrase()``, asked only then (from the environment or the prompt: a
    wrong one's line names which)."""
    try:
        repo = Repository.open(location, passphrase)  # the common case first: no listing
    except WrongPassphrase as exc:
        from snapkit.ops.passphrase import name_the_source

        name_the_source(exc, os.environ)  # (a wrong one: named by where it came from)
    except RepositoryMissing:
        if not (create and is_vacant(location)):
            raise
        mode, where = default_encryption(location)
        if mode != "none":  # encrypted by default there: chosen once, by `snapkit init`
            raise RepositoryMissing(
                f"no repository at {location}; it is {where}, so it is encrypted by default: "
                f"create it first with `snapkit init --repo {location}` (asks for its "
                "passphrase; `--encryption none` for a plain one)") from None
        repo = Repository.init(location)
        on_event(RepositoryCreated(str(repo.backend.location), repo.config.encrypted))
    repo.set_on_warning(lambda message: on_event(RepositoryDamaged(message)))
    return repo


@contextmanager
def read_lock(repo: Repository, no_lock: bool, operation: str,
              on_event: OnEvent = ignore) -> Iterator[None]:
    """Hold a shared lock while ``operation`` reads, so ``prune`` cannot delete what it reads.

    With ``no_lock`` nothing is taken. Where the lock cannot be written the block runs
    without one after a :class:`ReadingUnlocked` event.
    """
    with ExitStack() as stack:
        if not no_lock:
            try:
                stack.enter_context(repo.lock(exclusive=False, operation=operation))
            except RepositoryReadOnly as exc:
                on_event(ReadingUnlocked(exc.reason))
        yield


@contextmanager
def reading(location: Location, no_lock: bool, operation: str,
            on_event: OnEvent = ignore) -> Iterator[Repository]:
    """The repository at ``location``, open for ``operation`` to read under :func:`read_lock`.

    Blobs found damaged while reading are recorded in the repository at the end (so the next
    ``snap`` stores them again), under the same lock."""
    repo = open_repository(location, on_event=on_event)
    with read_lock(repo, no_lock, operation, on_event):
        try:
            yield repo
        finally:
            repo.flush_damage()
