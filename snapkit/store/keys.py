"""An encrypted repository's key files (``keys/<id>``): each wraps the one master key with
one passphrase (``snapkit.format.crypto``). Adding, listing, removing and unlocking them.

A repository may have several key files (several people, a spare passphrase in a safe);
unlocking tries each until one opens. Changing a passphrase writes the new key file before it
removes the old one, so an interruption leaves both, never neither; the last key file is never
removed (the repository would be lost).

A passphrase is normalised to Unicode NFC before it wraps a key (``é`` typed as one code point
or as ``e`` and a combining accent is one passphrase); unlocking tries the NFC form, then the
bytes as given, so a key file made before the normalisation still opens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from snapkit.format.encoding import CIPHER, ID_FUNCTION, OVERHEAD
from snapkit.format.errors import IntegrityError, UsageError, WrongPassphrase
from snapkit.format.repo_config import ENCRYPTED_VERSION, RepoConfig
from snapkit.store import local_cache
from snapkit.store.backend import Backend, NotFound
from snapkit.store.cipher import Sealed

if TYPE_CHECKING:  # (the crypto module is loaded where a key is made or read: a plain
    # repository's commands, which look only whether keys exist, never load it)
    from snapkit.format.crypto import KdfParams, KeyFile, MasterKey

#: The shortest salt a key file may have (snapkit writes 16 random bytes).
SALT_BYTES = 16
#: The size of a key file's wrapped master key: 64 bytes sealed.
WRAPPED_BYTES = 64 + OVERHEAD


class NoKeyOpens(WrongPassphrase):
    """The passphrase opens none of the repository's key files, all of them readable (exit
    12); ``where`` and how many ``key_files`` there are, for a line naming the passphrase's
    source (``snapkit.ops.passphrase.name_the_source``)."""

    def __init__(self, message: str, where: str, key_files: int) -> None:
        super().__init__(message)
        self.where = where
        self.key_files = key_files


def nfc(passphrase: bytes) -> bytes:
    """``passphrase`` normalised to Unicode NFC (bytes that are not UTF-8: as they are)."""
    import unicodedata  # (only when a passphrase is used: a plain repository's open skips it)

    try:
        return unicodedata.normalize("NFC", passphrase.decode()).encode()
    except UnicodeDecodeError:
        return passphrase


@dataclass(frozen=True)
class KeyInfo:
    """One key file, as ``snapkit key list`` shows it."""

    id: str
    created: str
    host: str
    user: str


def _user() -> str:
    import getpass  # (here: a plain repository's open imports this module, never adds a key)

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def add_key(backend: Backend, master: MasterKey, passphrase: bytes,
            kdf: KdfParams | None = None) -> str:
    """Write a new key file opening ``master`` with ``passphrase``; its id."""
    name, data = new_key_file(master, passphrase, kdf)
    backend.save("keys", name, data)
    return name


def new_key_file(master: MasterKey, passphrase: bytes,
                 kdf: KdfParams | None = None) -> tuple[str, bytes]:
    """A new key file's id and bytes, opening ``master`` with ``passphrase`` (the slow part:
    scrypt, tuned when ``kdf`` is None); nothing written."""
    import secrets
    import socket

    from snapkit.format.crypto import tune_kdf, wrap

    key_file = wrap(master, nfc(passphrase), kdf or tune_kdf(),
                    created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), host=socket.gethostname(),
                    user=_user())
    return secrets.token_hex(16), key_file.to_json()


def read_key(backend: Backend, name: str) -> KeyFile:
    """Key file ``name``, its structure checked (IntegrityError naming it when damaged)."""
    from snapkit.format.crypto import KeyFile

    key_file = KeyFile.from_json(backend.load("keys", name), name)
    if len(key_file.kdf.salt) < SALT_BYTES or len(key_file.sealed) != WRAPPED_BYTES:
        raise IntegrityError(f"key file {name}: its salt or wrapped key has the wrong size")
    return key_file


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
    """The id of the key file ``passphrase`` opens, and the master key. When it opens none:
    WrongPassphrase (exit 12) naming the repository if every key file could be read, else
    IntegrityError (exit 1) naming the damaged one (it may be the passphrase's own)."""
    names = sorted(backend.list("keys"))
    if not names:
        raise IntegrityError(f"{where} is encrypted but has no key file (keys/ is empty): "
                             "it cannot be opened; restore keys/ from a copy of the repository")
    damaged: dict[str, str] = {}
    for name in names:
        try:
            key_file = read_key(backend, name)
        except NotFound:
            continue
        except IntegrityError as exc:
            damaged[name] = exc.message
            continue
        for secret in dict.fromkeys((nfc(passphrase), passphrase)):  # (as given: made earlier)
            try:
                return name, key_file.unlock(secret, name)
            except (WrongPassphrase, IntegrityError):
                continue
    if damaged:
        name, why = next(iter(damaged.items()))
        why = why.removeprefix(f"key file {name}").removeprefix(":").removeprefix(" is").strip()
        more = "" if len(damaged) == 1 else f", and {len(damaged) - 1} more"
        raise IntegrityError(
            f"key file {name} of {where} is damaged ({why}){more}; the passphrase opens none of "
            f"the other {len(names) - len(damaged)} key file(s): restore the damaged file from "
            "a copy of the repository, or give another key's passphrase")
    raise NoKeyOpens(f"wrong passphrase for {where}: it opens none of its "
                     f"{len(names)} key file(s); check SNAPKIT_PASSWORD / "
                     "--password-file, or use another key's passphrase", where, len(names))


def damaged_keys(backend: Backend) -> dict[str, str]:
    """The key files that cannot be read as key files (id -> why), for ``check``."""
    return list_keys(backend)[1]


def id_mac(master: MasterKey, repo_id: str) -> str:
    """A keyed MAC of a repository id (kept in the local cache: a config whose MAC fails keeps
    its id through ``repair config`` only when this machine saw that id under this key)."""
    return master.mac(b"snapkit repository id " + repo_id.encode())


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


def encrypt_new(config: RepoConfig, passphrase: bytes, kdf: KdfParams | None = None
                ) -> tuple[RepoConfig, Sealed, tuple[str, bytes]]:
    """A new repository's encryption: a random master key, its first key file wrapping it by
    ``passphrase`` (id and bytes, for the caller to write before the config) and the config
    that says so (version 2, its MAC under the key). Nothing is written: the slow part
    (scrypt) is done before anything is created."""
    from snapkit.format.crypto import MasterKey

    sealed = Sealed(MasterKey.generate())
    key_file = new_key_file(sealed.key, passphrase, kdf)
    return sealed_config(config, sealed), sealed, key_file


def config_altered(backend: Backend, config: RepoConfig, sealed: Sealed) -> str | None:
    """Why ``config`` is not the one the repository's key wrote (its MAC does not match), as
    the error to give, or None."""
    if sealed.key.mac(config.mac_input()) == config.mac:
        return None
    return (f"the config of {backend.location} was altered (its MAC under the repository key "
            "does not match): run `snapkit repair config` (writes it again from the key "
            "files), or restore it from a copy of the repository")


def plain_refused(backend: Backend, config: RepoConfig) -> str | None:
    """Why a plain ``config`` cannot be the repository's: it has key files, or this machine
    has opened it encrypted before (the local cache); None when nothing says so."""
    if next(iter(backend.list("keys")), None) is not None:
        return "keys/ holds key files"
    if local_cache.seen_encrypted(config.id, backend.location) is not None:
        return "this machine has opened it encrypted before"
    return None


def looks_sealed(backend: Backend, kind: str, names: list[str]) -> bool:
    """Whether the stored objects ``names`` (up to three read) all look sealed rather than
    plain: as varied as random bytes (a nonce and ciphertext), and not led as a plain one is
    (a msgpack map whose first key is a short lowercase string: ``{"v": 1, ...}``), which a
    damaged plain object keeps unless its first bytes are hit (flipped, truncated) or it is
    zero-filled (not varied)."""
    for name in sorted(names)[:3]:
        try:
            sample = backend.load(kind, name)[:256]
        except NotFound:
            return False
        if len(sample) < WRAPPED_BYTES or len(set(sample)) < len(sample) // 2:
            return False
        if (0x80 <= sample[0] <= 0x8F or sample[0] in (0xDE, 0xDF)) \
                and 0xA0 <= sample[1] <= 0xBF and 0x61 <= sample[2] <= 0x7A:
            return False
    return bool(names)


def refuse_if_sealed(backend: Backend, index_files: list[str]) -> None:
    """Refuse a plain config whose index files (none of which reads) look sealed: the config
    was replaced and keys/ removed (``docs/format.md``, "A config turned plain")."""
    if looks_sealed(backend, "index", index_files):
        raise IntegrityError(f"the config of {backend.location} says it is not encrypted, but "
                             "its index files are sealed (encrypted): the config was altered "
                             "and keys/ removed; restore both from a copy of the repository")


def keys_gone(where: str) -> str:
    """The error for a repository this machine saw encrypted, now without key files and
    without a config that reads."""
    return (f"{where} was encrypted when this machine last opened it, but its key files are "
            "gone and its config is damaged or altered: restore keys/ and the config from a "
            "copy of the repository")


def altered_plain(where: str, why: str) -> str:
    """The error for a plain config that :func:`plain_refused` refuses."""
    fix = ("restore it from a copy of the repository, or run `snapkit repair config` (writes "
           "it again, sealed, from the key files)" if why.startswith("keys/") else
           "its key files are gone too: restore the config and keys/ from a copy of the "
           "repository")
    return (f"the config of {where} was altered (tampered with): it says the repository is "
            f"not encrypted, but {why}; {fix}")


def remember(backend: Backend, config: RepoConfig, sealed: Sealed) -> None:
    """Note in the local cache that this repository is encrypted (by id and location)."""
    local_cache.remember_encrypted(config.id, backend.location, id_mac(sealed.key, config.id))


def trusted_config(backend: Backend, sealed: Sealed, old: RepoConfig | None) -> RepoConfig:
    """The config of an encrypted repository whose own is damaged or altered: the defaults,
    sealed; the ``old`` one's id and creation time kept when this machine saw that id under
    this key (the local cache; without an ``old`` one, the id it saw at this location under
    this key), else the id of :meth:`RepoConfig.fallback`."""
    config = RepoConfig.fallback()
    if old is not None and local_cache.seen_encrypted(old.id, backend.location) == id_mac(
            sealed.key, old.id):
        config = replace(config, id=old.id, created=old.created)
    elif old is None:  # no config to go by: the id this machine saw here under this key
        seen = [rid for rid, mac in local_cache.seen_at(backend.location)
                if mac == id_mac(sealed.key, rid)]
        if len(seen) == 1:
            config = replace(config, id=seen[0])
    return sealed_config(config, sealed)


def unlock_sealed(backend: Backend, passphrase: bytes) -> tuple[str, Sealed]:
    """The key file ``passphrase`` opens and the cipher, without a config to check (a
    repository whose config is damaged)."""
    name, master = unlock(backend, passphrase, backend.location)
    return name, Sealed(master)


def sealed_config(config: RepoConfig, sealed: Sealed) -> RepoConfig:
    """``config`` as an encrypted repository's: version 2, keyed ids, the cipher, its MAC."""
    config = replace(config, version=ENCRYPTED_VERSION, hash=ID_FUNCTION, encryption=CIPHER)
    return replace(config, mac=sealed.key.mac(config.mac_input()))
