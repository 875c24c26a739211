"""``copy``: copy snapshots into another repository (a local one to S3, say), sending only the
data the destination lacks (:mod:`snapkit.maintain.copy`), as ``restic copy`` does.

The source is read under a shared lock (its damage found is recorded at the end, as every
reader does); the destination is written under the shared lock a ``snap`` takes. The
destination must exist (``snapkit init --repo ...`` creates it) and must not be the source.
A snapshot already in the destination is skipped: under its own id (a manifest is named by the
hash of its bytes and copied byte for byte when both repositories compute ids alike), or as
the ``original`` of a re-keyed copy (:func:`snapkit.maintain.copy.present`).

Either may be encrypted. The source's passphrase comes from where every command takes it; the
destination's from :class:`DestinationPassphrase`: ``--to-password-file``, else
``SNAPKIT_TO_PASSWORD_FILE``, ``SNAPKIT_TO_PASSWORD_COMMAND``, ``SNAPKIT_TO_PASSWORD``, else
the source's own settings (one passphrase for both), else a prompt on a terminal.

By default every snapshot of the source (of ``host``, carrying all ``tags``, with a source at
or above ``path``) is copied; ``selectors`` (ids, prefixes, ``latest``, tags, ``~N``) pick
some among those. A snapshot whose manifest cannot be read is reported as damaged when every
snapshot was asked for.
"""

from __future__ import annotations

import getpass
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import FrameType
from typing import Any

from snapkit.format.errors import (
    Interrupted,
    PassphraseNeeded,
    RepositoryMissing,
    SnapkitError,
    UsageError,
    WrongPassphrase,
)
from snapkit.maintain.copy import (
    CopyProgress,
    CopyStopped,
    Sent,
    SnapshotCopied,
    SnapshotDamaged,
    copy_snapshots,
    present,
)
from snapkit.maintain.selection import Pair, describe_filters, filter_snapshots, resolve
from snapkit.ops.events import Event, OnEvent, RepositoryDamaged, Throttle, ignore
from snapkit.ops.passphrase import given, opens_none, passphrase, source
from snapkit.ops.repo import Location, read_lock
from snapkit.ops.repo import open_repository as open_source
from snapkit.store.location import is_remote, parse_s3
from snapkit.store.repository import Repository, is_vacant


@dataclass(frozen=True)
class CopyPlanned(Event):
    """The snapshots to copy (oldest first) and those the destination already holds."""

    destination: str
    to_copy: tuple[Pair, ...]
    present: tuple[str, ...]
    dry_run: bool


@dataclass(frozen=True)
class CopyProgressed(Event):
    """Progress of the data of one snapshot (paced by ``progress_interval``)."""

    progress: CopyProgress


@dataclass(frozen=True)
class SnapshotDone(Event):
    """One snapshot copied (its manifest written; with ``dry_run``: would be) or skipped as
    damaged in the source."""

    outcome: SnapshotCopied | SnapshotDamaged
    dry_run: bool


@dataclass(frozen=True)
class PlainDestination(Event):
    """The destination is not encrypted: the source is (``source_encrypted``: its data is
    stored there in plain), or a passphrase was given for it (``unused``: where, as options
    and variables name them)."""

    destination: str
    source_encrypted: bool
    unused: tuple[str, ...]


@dataclass(frozen=True)
class CopyResult:
    source: str
    destination: str
    copied: tuple[SnapshotCopied, ...]
    #: the selected snapshots the destination already held
    present: tuple[str, ...]
    damaged: tuple[SnapshotDamaged, ...]
    sent: Sent
    dry_run: bool
    #: the --host/--tag/--path filters given (``--tag x``), "" for none, and how many
    #: snapshots the source holds: for "no snapshot matches ..."
    filters: str = ""
    listed: int = 0
    source_encrypted: bool = False
    destination_encrypted: bool = False


#: How to give the destination's passphrase.
TO_HOW = ("pass --to-password-file FILE, or set SNAPKIT_TO_PASSWORD_FILE, "
          "SNAPKIT_TO_PASSWORD_COMMAND or SNAPKIT_TO_PASSWORD")
#: The destination's variables, by the name :func:`snapkit.ops.passphrase.passphrase` reads.
_TO_ENV = {"SNAPKIT_PASSWORD_FILE": "SNAPKIT_TO_PASSWORD_FILE",
           "SNAPKIT_PASSWORD_COMMAND": "SNAPKIT_TO_PASSWORD_COMMAND",
           "SNAPKIT_PASSWORD": "SNAPKIT_TO_PASSWORD"}


class DestinationPassphrase:
    """The destination's passphrase, asked only when it is encrypted (module docstring);
    :attr:`tried` says where the one asked came from, for the line when it is wrong."""

    def __init__(self, where: str, password_file: str | None = None) -> None:
        self.where = where
        self.password_file = password_file
        #: ``(source, own)``: :func:`snapkit.ops.passphrase.source`'s name of where it came
        #: from (None: the prompt), and whether it was the destination's own (else the
        #: source repository's, tried on the destination); None until asked
        self.tried: tuple[str | None, bool] | None = None

    def own(self) -> dict[str, str]:
        """The destination's variables set, by the names the source's would have."""
        return {name: os.environ[var] for name, var in _TO_ENV.items() if var in os.environ}

    def __call__(self) -> bytes:
        own = self.own()
        if self.password_file or given(own):
            what = _to_names(source(own, self.password_file))
            if what and what.startswith("the password file "):
                what += (" (--to-password-file)" if self.password_file
                         else " (SNAPKIT_TO_PASSWORD_FILE)")
            self.tried = (what, True)
            try:
                return passphrase(own, self.password_file)
            except UsageError as exc:
                raise UsageError(f"destination: {_to_names(exc.message)}") from exc
        if given(os.environ):  # the source's: one passphrase for both
            self.tried = (source(os.environ), False)
            return passphrase(os.environ)
        if sys.stdin.isatty():
            self.tried = (None, True)
            return passphrase({}, prompt=lambda text: getpass.getpass(
                f"{text} of the destination {self.where}: "))
        raise PassphraseNeeded(f"the destination {self.where} is encrypted and no passphrase "
                               f"was given for it: {TO_HOW}")

    def wrong(self, exc: WrongPassphrase) -> WrongPassphrase:
        """The line for a passphrase that opens no key file of the destination: where it came
        from, and when it was the source repository's (none given for the destination), so."""
        from snapkit.store.keys import NoKeyOpens  # (encrypted only)

        if not isinstance(exc, NoKeyOpens) or self.tried is None:
            return WrongPassphrase(f"wrong passphrase for the destination {self.where}: "
                                   f"{exc.message}; {TO_HOW}")
        what, own = self.tried
        line = opens_none(f"the destination {self.where}", exc.key_files, what)
        if own:
            return WrongPassphrase(line)
        files = f"{exc.key_files} key file{'' if exc.key_files == 1 else 's'}"
        return WrongPassphrase(
            f"wrong passphrase for the destination {self.where}: no passphrase was given for "
            f"it, and the source repository's (from {what}) opens none of its {files}; "
            f"{TO_HOW}")


def _to_names(text: str | None) -> str | None:
    """``text`` with the source's variables named as the destination's."""
    return None if text is None else text.replace("SNAPKIT_PASSWORD", "SNAPKIT_TO_PASSWORD")


def open_destination(location: Location, on_event: OnEvent = ignore,
                     password_file: str | None = None) -> Repository:
    """The destination repository (unlocked by :class:`DestinationPassphrase` when it is
    encrypted); one line saying how to create it when it is missing, or naming it and the
    passphrase tried when that is wrong."""
    asked = DestinationPassphrase(str(location), password_file)
    try:
        repo = Repository.open(location, asked)
    except PassphraseNeeded:
        raise
    except WrongPassphrase as exc:
        raise asked.wrong(exc) from exc
    except RepositoryMissing as exc:
        try:
            vacant = is_vacant(location)
        except (OSError, SnapkitError):
            vacant = False
        where = str(location)
        if vacant:
            raise RepositoryMissing(f"no repository at the destination {where}; create it "
                                    f"with `snapkit init --repo {where}`") from exc
        why = exc.message.replace("--repo / $SNAPKIT_REPO", "--to").replace(
            "in --repo ", "in --to ")
        raise RepositoryMissing(f"destination: {why}") from exc
    repo.set_on_warning(lambda message: on_event(RepositoryDamaged(f"destination: {message}")))
    return repo


def _same(src: Repository, dst: Repository) -> bool:
    if src.backend.location == dst.backend.location:
        return True
    root, other = src.backend.local_root(), dst.backend.local_root()
    if root is not None and other is not None and root.exists() and other.exists():
        return root.samefile(other)
    return (src.config_damaged is None and dst.config_damaged is None
            and src.config.id == dst.config.id)


def _note_plain(src: Repository, dst: Repository, to_password_file: str | None,
                on_event: OnEvent) -> None:
    """:class:`PlainDestination` when the destination is not encrypted and the source is, or
    a passphrase was given for it."""
    if dst.cipher.encrypted:
        return
    unused = ((("--to-password-file",) if to_password_file else ())
              + tuple(v for v in _TO_ENV.values() if v in os.environ))
    if src.cipher.encrypted or unused:
        on_event(PlainDestination(dst.backend.location, src.cipher.encrypted, unused))


def select(listing: Sequence[Pair], selectors: Sequence[str], host: str | None,
           tags: Sequence[str], path: str | None) -> list[Pair]:
    """The snapshots to consider, oldest first: those the filters keep or, with
    ``selectors``, those they name among them."""
    pairs = filter_snapshots(listing, host=host, tags=tags, path=path)
    if not selectors:
        return pairs
    named = {resolve(s, pairs)[0] for s in selectors}
    return [p for p in pairs if p[0] in named]


def copy(location: Location, to: Location, *, selectors: Sequence[str] = (),
         host: str | None = None, tags: Sequence[str] = (), path: str | None = None,
         dry_run: bool = False, on_event: OnEvent = ignore, progress_interval: float = 0.2,
         to_password_file: str | None = None) -> CopyResult:
    """Copy the selected snapshots of the repository at ``location`` into the one at ``to``
    (``to_password_file``: its passphrase, when it is encrypted). A snapshot whose data
    cannot all be read is not copied (``CopyResult.damaged``)."""
    if is_remote(to):
        parse_s3(str(to))  # a malformed --to is named before the source is opened
    src = open_source(location, on_event=on_event)
    dst = open_destination(to, on_event, to_password_file)
    _note_plain(src, dst, to_password_file, on_event)
    if _same(src, dst):
        raise UsageError(f"--to names the source repository itself ({dst.backend.location}); "
                         "give another repository")
    throttle = Throttle(progress_interval)
    copied: list[SnapshotCopied] = []
    damaged: list[SnapshotDamaged] = []

    def done(outcome: SnapshotCopied | SnapshotDamaged) -> None:
        if isinstance(outcome, SnapshotCopied):
            copied.append(outcome)
        else:
            damaged.append(outcome)
        on_event(SnapshotDone(outcome, dry_run))

    received: list[int] = []  # Ctrl-C, SIGTERM: the copy stops at a safe point
    try:
        with read_lock(src, False, "copy", on_event):
            try:
                with dst.lock(exclusive=False, operation="copy"):
                    listing = src.snapshots()
                    chosen = select(listing, selectors, host, tags, path)
                    if not (selectors or host or tags or path):  # "all" includes these
                        for sid, why in sorted(listing.damaged.items()):
                            done(SnapshotDamaged(sid, None, why))
                    there = present(listing, dst)
                    todo = tuple(p for p in chosen if p[0] not in there)
                    held = tuple(sid for sid, _ in chosen if sid in there)
                    on_event(CopyPlanned(dst.backend.location, todo, held, dry_run))
                    with _signals_deferred(received):
                        sent = copy_snapshots(
                            src, dst, todo, dry_run=dry_run, on_done=done,
                            on_progress=lambda p: on_event(CopyProgressed(p)),
                            progress_due=throttle.due, known=there, listing=listing,
                            stopping=lambda: bool(received))
            finally:
                src.flush_damage()
    except (Interrupted, KeyboardInterrupt, CopyStopped) as exc:
        stop = _stopped(received) if isinstance(exc, CopyStopped) else exc
        if dry_run:
            raise stop from None
        raise _interrupted(stop, len(copied), dst.backend.location) from exc
    if received:  # (after the last safe point: all is copied, but the user asked to stop)
        raise (_stopped(received) if dry_run else
               _interrupted(_stopped(received), len(copied), dst.backend.location))
    return CopyResult(src.backend.location, dst.backend.location, tuple(copied), held,
                      tuple(damaged), sent, dry_run, describe_filters(host, tags, path),
                      len(listing), src.cipher.encrypted, dst.cipher.encrypted)


@contextmanager
def _signals_deferred(received: list[int]) -> Iterator[None]:
    """Ctrl-C and SIGTERM noted (in ``received``) instead of raised, so the copy stops at a
    safe point and commits what is complete; a second one acts at once, as it would without
    this (main thread only: signals are delivered there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def note(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:  # asked again: stop now
            for number, handler in previous.items():
                signal.signal(number, handler)
            handler = previous.get(signum)
            if callable(handler):
                handler(signum, frame)
            raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, note)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stopped(received: list[int]) -> BaseException:
    """What the first signal deferred by :func:`_signals_deferred` would have raised."""
    if received[0] == signal.SIGTERM:
        return Interrupted("terminated (SIGTERM); nothing was written (--dry-run)")
    return KeyboardInterrupt()


def _interrupted(exc: BaseException, copied: int, destination: str) -> Interrupted:
    """Ctrl-C or SIGTERM during a copy: how many snapshots the destination received (each
    complete: a manifest is written after its data) and how to finish."""
    how = "terminated (SIGTERM)" if isinstance(exc, Interrupted) else "interrupted"
    return Interrupted(f"{how}: {copied:,} snapshot{'' if copied == 1 else 's'} copied so far "
                       f"to {destination}; both repositories are valid: run `snapkit copy` "
                       "again to finish")
