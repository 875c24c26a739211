"""The whole test suite against encrypted repositories: ``SNAPKIT_TEST_ENCRYPTED=1``.

Every repository a test creates in process (``Repository.init`` without a passphrase) is
then encrypted under :data:`PASSPHRASE` (with a fast key derivation), every open without a
passphrase gets it (one a test made under its own passphrase is then opened as without
one), and ``SNAPKIT_PASSWORD`` carries it to the CLI and to subprocesses. Tests
that pin the plain format (frozen repositories, test vectors, byte counts) are expected to
differ; everything else must pass unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.format.errors import WrongPassphrase
from snapkit.store.repository import Repository

PASSPHRASE = b"snapkit-test-passphrase"


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
        if passphrase is not None:
            return open_(location, passphrase)
        try:
            return open_(location, lambda: PASSPHRASE)
        except WrongPassphrase:  # made by a test under its own passphrase: as without one
            return open_(location, None)

    patched: Any = Repository
    patched.init = staticmethod(encrypted_init)
    patched.open = staticmethod(unlocking_open)
    return True
