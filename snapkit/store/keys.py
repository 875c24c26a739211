"""An encrypted repository's key files (``keys/<id>``): each wraps the one master key with
one passphrase (``snapkit.format.crypto``). Adding, listing, removing and unlocking them.

A repository may have several key files (several people, a spare passphrase in a safe);
unlocking tries each until one opens. Changing a passphrase writes the new key file before it
removes the old one, so an interruption leaves both, never neither; the last key file is never
removed (the repository would be lost).
"""

from __future__ import annotations

import getpass
import secrets
import socket
import time
from dataclasses import dataclass, replace

from snapkit.format.crypto import CIPHER, ID_FUNCTION, KdfParams, KeyFile, MasterKey, tune_kdf, wrap
from snapkit.format.errors import IntegrityError, UsageError, WrongPassphrase
from snapkit.format.repo_config import ENCRYPTED_VERSION, RepoConfig
from snapkit.store.backend import Backend, NotFound
from snapkit.store.cipher import Sealed


@dataclass(frozen=True)
class KeyInfo:
    """One key file, as ``snapkit key list`` shows it."""

    id: str
    created: str
    host: str
    user: str


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def add_key(backend: Backend, master: MasterKey, passphrase: bytes,
            kdf: KdfParams | None = None) -> str:
    """Write a new key file opening ``master`` with ``passphrase``; its id."""
    key_file = wrap(master, passphrase, kdf or tune_kdf(),
                    created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), host=socket.gethostname(),
                    user=_user())
    name = secrets.token_hex(16)
    backend.save("keys", name, key_file.to_json())
    return name


def read_key(backend: Backend, name: str) -> KeyFile:
    return KeyFile.from_json(backend.load("keys", name), name)


def list_keys(backend: Backend) -> tuple[list[KeyInfo], dict[str, str]]:
    """The readable key files (oldest first), and those that are not (id -> why)."""
    found: list[KeyInfo] = []
    broken: dict[str, str] = {}
    for name in sorted(backend.list("keys")):
        try:
            kf = read_key(backend, name)
        except NotFound:
            continue  # removed since the listing
        except IntegrityError as exc:
            broken[name] = exc.message
            continue
        found.append(KeyInfo(name, kf.created, kf.host, kf.user))
    found.sort(key=lambda k: (k.created, k.id))
    return found, broken


def unlock(backend: Backend, passphrase: bytes, where: str) -> tuple[str, MasterKey]:
    """The id of the key file ``passphrase`` opens, and the master key; WrongPassphrase (exit
    12) naming the repository when it opens none."""
    names = sorted(backend.list("keys"))
    if not names:
        raise IntegrityError(f"{where} is encrypted but has no key file (keys/ is empty): "
                             "it cannot be opened")
    for name in names:
        try:
            return name, read_key(backend, name).unlock(passphrase, name)
        except (WrongPassphrase, IntegrityError, NotFound):
            continue
    raise WrongPassphrase(f"wrong passphrase for {where}: it opens none of its "
                          f"{len(names)} key file(s); check SNAPKIT_PASSWORD / "
                          "--password-file, or use another key's passphrase")


def remove_key(backend: Backend, name: str, in_use: str | None = None,
               force: bool = False) -> None:
    """Remove key file ``name``: never the last one, nor the one this run was unlocked with
    (``in_use``) unless ``force``."""
    names = set(backend.list("keys"))
    if name not in names:
        raise UsageError(f"no key file {name} in this repository (see `snapkit key list`)")
    if len(names) == 1:
        raise UsageError(f"key file {name} is the repository's last one: removing it would "
                         "make the repository unreadable; add another first (`snapkit key add`)")
    if name == in_use and not force:
        raise UsageError(f"key file {name} is the one this passphrase opened; remove it with "
                         "another key's passphrase, or pass --force")
    backend.remove("keys", name)


def change_passphrase(backend: Backend, name: str, master: MasterKey, new: bytes,
                      kdf: KdfParams | None = None) -> str:
    """Replace key file ``name`` by one opening ``master`` with ``new``: the new one written
    first, then the old removed (both remain if interrupted in between). The new id."""
    new_name = add_key(backend, master, new, kdf)
    backend.remove("keys", name)
    return new_name


def encrypt_new(backend: Backend, config: RepoConfig, passphrase: bytes,
                kdf: KdfParams | None = None) -> tuple[RepoConfig, Sealed]:
    """A new repository's encryption: a random master key, wrapped in a first key file by
    ``passphrase``, and the config that says so (version 2, its MAC under the key)."""
    sealed = Sealed(MasterKey.generate())
    add_key(backend, sealed.key, passphrase, kdf)
    return sealed_config(config, sealed), sealed


def open_sealed(backend: Backend, config: RepoConfig, passphrase: bytes) -> tuple[str, Sealed]:
    """The key file ``passphrase`` opens and the repository's cipher; WrongPassphrase when it
    opens none, IntegrityError when the config is not the one the key wrote (altered)."""
    where = backend.location
    name, master = unlock(backend, passphrase, where)
    if master.mac(config.mac_input()) != config.mac:
        raise IntegrityError(f"the config of {where} was altered (its MAC under the repository "
                             "key does not match): restore it from a copy of the repository")
    return name, Sealed(master)


def unlock_sealed(backend: Backend, passphrase: bytes) -> tuple[str, Sealed]:
    """The key file ``passphrase`` opens and the cipher, without a config to check (a
    repository whose config is damaged)."""
    name, master = unlock(backend, passphrase, backend.location)
    return name, Sealed(master)


def sealed_config(config: RepoConfig, sealed: Sealed) -> RepoConfig:
    """``config`` as an encrypted repository's: version 2, keyed ids, the cipher, its MAC."""
    config = replace(config, version=ENCRYPTED_VERSION, hash=ID_FUNCTION, encryption=CIPHER)
    return replace(config, mac=sealed.key.mac(config.mac_input()))
