"""``repair config``: write a damaged or missing ``config`` file again.

A version-1 config holds nothing that cannot be known again: the id function and the chunker
parameters are fixed defaults (``snapkit init`` offers no others), and the zstd level and pack
size only steer new writes. ``Repository.open`` already reads a repository whose config is
damaged with :meth:`RepoConfig.fallback` (only where ``packs/``, ``index/`` and
``snapshots/`` show it is one). Before a new config is written, the blobs of one pack are read
back: their ids must check out (the id function is the one this config names); a new
repository id and creation time are chosen, the rest is the defaults.

An encrypted repository's config is written the same way, sealed (version 2, its MAC under
the master key, which the key files give: ``Repository.open_to_repair`` opens the repository
through them even when the config fails its MAC or was replaced by a plain one); its old id is
kept when this machine saw that id under that key (``store.keys.trusted_config``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from snapkit.format.errors import IntegrityError
from snapkit.store.cipher import Sealed
from snapkit.store.keys import remember, sealed_config
from snapkit.store.repository import RepoConfig, Repository

#: At most this many blobs are read back to verify the defaults.
VERIFY_BLOBS = 16


@dataclass(frozen=True)
class ConfigCheck:
    """Whether the config needs writing again, and what reading blobs back showed."""

    damaged: str | None  # why the config is damaged; None: it reads fine
    blobs_verified: int
    blobs_failed: int

    @property
    def nothing_to_do(self) -> bool:
        return self.damaged is None

    @property
    def safe(self) -> bool:
        """A blob read back with the default config (or the repository has no blob yet)."""
        return self.blobs_verified > 0 or self.blobs_failed == 0


def check_config(repo: Repository) -> ConfigCheck:
    """Read up to :data:`VERIFY_BLOBS` blobs of the first indexed pack back (of the next, up
    to four packs, while none reads back)."""
    if repo.config_damaged is None:
        return ConfigCheck(None, 0, 0)
    by_pack: dict[str, list[str]] = {}
    for e in repo.index:
        by_pack.setdefault(e.pack, []).append(e.id)
    ok = failed = 0
    for pack in sorted(by_pack)[:4]:
        for blob in by_pack[pack][:VERIFY_BLOBS]:
            try:
                repo.load_blob(blob)
                ok += 1
            except IntegrityError:
                failed += 1
        if ok:
            break
    return ConfigCheck(repo.config_damaged, ok, failed)


def write_config(repo: Repository) -> RepoConfig:
    """Write a new config: the defaults, a new id and creation time (an encrypted repository's
    old id and time when this machine saw that id under its key: :func:`trusted_config`)."""
    config = repo.config
    if config.id == RepoConfig.fallback().id:
        config = RepoConfig(id=secrets.token_hex(16),
                            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    else:
        config = RepoConfig(id=config.id,
                            created=config.created or time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    if isinstance(repo.cipher, Sealed):  # an encrypted repository's, its MAC under its key
        config = sealed_config(config, repo.cipher)
    repo.backend.save("config", "config", config.to_json())
    if isinstance(repo.cipher, Sealed):
        remember(repo.backend, config, repo.cipher)
    repo.config = config
    repo.config_damaged = None
    return config
