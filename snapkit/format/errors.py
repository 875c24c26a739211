"""Error types and the exit codes they map to.

Every failure a user can cause or meet is a :class:`SnapkitError` carrying one clear line
(what went wrong and how to fix it) and the documented exit code. The CLI prints the line
and exits with the code; nothing else in the package prints errors.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
#: The snapshot was written, but the OpenClaw gateway was stopped for it and could not be
#: restarted: the user must start it (the message names the command).
EXIT_GATEWAY_DOWN = 4
EXIT_NO_REPO = 10
EXIT_LOCKED = 11
#: The passphrase opens none of an encrypted repository's key files.
EXIT_WRONG_PASSPHRASE = 12
EXIT_INTERRUPTED = 130


class SnapkitError(Exception):
    """A failure with a one-line message and an exit code."""

    exit_code = EXIT_FATAL

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(SnapkitError):
    """Bad arguments, a bad config file, an unknown snapshot id: nothing was written."""

    exit_code = EXIT_USAGE


class RepositoryMissing(SnapkitError):
    """The repository path does not exist or is not a snapkit repository."""

    exit_code = EXIT_NO_REPO


class ConfigDamaged(RepositoryMissing):
    """The repository's ``config`` file cannot be read as a config (not JSON, fields missing
    or wrong). Where the rest of a repository is there, it is opened with the version-1
    defaults instead, with a warning (``Repository.open``)."""


class RepositoryLocked(SnapkitError):
    """Another process holds a conflicting lock on the repository."""

    exit_code = EXIT_LOCKED


class RepositoryReadOnly(SnapkitError):
    """The repository cannot be written here (a read-only mount, no permission), and the
    command needs to write to it (if only its lock). ``reason`` is the system's word for it."""

    exit_code = EXIT_FATAL

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WrongPassphrase(SnapkitError):
    """The passphrase given opens no key file of the repository."""

    exit_code = EXIT_WRONG_PASSPHRASE


class PassphraseNeeded(WrongPassphrase):
    """The repository is encrypted and no passphrase was given (the same exit code: the
    fix is the same, give the right one)."""


class IntegrityError(SnapkitError):
    """Stored data does not match its id, or a store file is damaged."""

    exit_code = EXIT_FATAL


class BlobUnreadable(IntegrityError):
    """One stored blob cannot be read back as it was written: its pack is missing, too short,
    or the bytes at its place do not decode to its id. Names the blob and the pack, so the
    damage can be recorded (``Repository.record_damage``) and attributed."""

    def __init__(self, message: str, blob: str, pack: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.blob = blob
        self.pack = pack
        self.missing = missing  # the pack is gone (not a damaged byte)


class RepositoryFull(SnapkitError):
    """The repository's disk is full (or its quota used up): a write did not fit."""

    exit_code = EXIT_FATAL

    def __init__(self, location: str, what: str, needed: int, free: int | None) -> None:
        def mib(n: int) -> str:
            return f"{n / 2**20:.1f} MiB"

        free_text = f", {mib(free)} free" if free is not None else ""
        super().__init__(
            f"no space left on the disk of the repository {location} while writing {what} "
            f"({mib(needed)} needed{free_text}); free space there or use another --repo — "
            "every earlier snapshot is intact"
        )


class GatewayDown(SnapkitError):
    """The snapshot was written, but the gateway stopped for it could not be restarted."""

    exit_code = EXIT_GATEWAY_DOWN


class Interrupted(SnapkitError):
    """Ctrl-C or SIGTERM: the operation stopped; the repository is still valid."""

    exit_code = EXIT_INTERRUPTED
