"""The whole test suite against encrypted repositories: ``SNAPKIT_TEST_ENCRYPTED=1``.

Every repository a test creates in process (``Repository.init`` without a passphrase) is
then encrypted under :data:`PASSPHRASE` (with a fast key derivation), every open without a
passphrase a test makes gets it (one a test made under its own passphrase is then opened
as without one; snapkit's own opens without one are left as they are), and
``SNAPKIT_PASSWORD`` carries it to the CLI and to subprocesses. Tests that pin the plain
format, or that a passphrase is not given, skip there (``helpers.plain_only``); everything
else passes unchanged or adapts to the repository's cipher. ``.ci/run`` runs a subset in
this mode; docs/design.md ("Encryption") describes it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.format.errors import WrongPassphrase
from snapkit.store.repository import Repository

PASSPHRASE = b"snapkit-test-passphrase"


def _from_snapkit() -> bool:
    """Whether ``Repository.open`` was called by snapkit itself (not a test): without a
    passphrase it then asks whether one is needed (``schedule install``), as in production."""
    caller = sys._getframe(2).f_globals.get("__name__", "")
    return isinstance(caller, str) and caller.startswith("snapkit.")


def install() -> bool:
    """Turn the mode on when the environment asks for it; whether it is on."""
    if os.environ.get("SNAPKIT_TEST_ENCRYPTED") != "1":
        return False
    os.environ["SNAPKIT_PASSWORD"] = PASSPHRASE.decode()
    init, open_ = Repository.init, Repository.open

    def encrypted_init(location: str | Path, zstd_level: int = 3,
                       passphrase: bytes | None = None, kdf: KdfParams | None = None
                       ) -> Repository:
        return init(location, zstd_level, passphrase or PASSPHRASE,
                    kdf or KdfParams(MIN_SCRYPT_N, os.urandom(16)))

    def unlocking_open(location: str | Path,
                       passphrase: Callable[[], bytes] | None = None) -> Repository:
        if passphrase is not None or _from_snapkit():
            return open_(location, passphrase)
        try:
            return open_(location, lambda: PASSPHRASE)
        except WrongPassphrase:  # made by a test under its own passphrase: as without one
            return open_(location, None)

    patched: Any = Repository
    patched.init = staticmethod(encrypted_init)
    patched.open = staticmethod(unlocking_open)
    return True
