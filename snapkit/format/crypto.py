"""Encryption at rest, pure: the master key, its key files, sealing, keyed ids.

An encrypted repository (``docs/format.md``, "Encryption") has one random **master key**: 32
bytes that seal every stored object with AES-256-GCM and 32 bytes that key the content ids
(HMAC-SHA256 truncated to 128 bits: 1.9 GB/s with the CPU's SHA instructions, against 1.2
for keyed BLAKE2b, measured here on 32 KiB chunks), so that whoever holds the bucket can
neither read an object, alter one unnoticed, nor confirm a guess about a file's content by
computing its id. The master key is stored only wrapped, in **key files**: each seals it
with a key derived from one passphrase by scrypt (its parameters and salt kept beside it), so
a repository can have several passphrases and changing one rewrites one small file.

Sealed form: a random 96-bit nonce, the ciphertext, the 16-byte tag. A random nonce per
object is safe for ~2^32 objects under one key (the chance of a repeat stays below 2^-32);
the associated data binds each object to its kind (a sealed index file does not open as a
manifest). Nothing here does I/O: ``snapkit.store`` reads and writes the files.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from snapkit.format.encoding import CIPHER as CIPHER
from snapkit.format.encoding import ID_FUNCTION as ID_FUNCTION
from snapkit.format.encoding import NONCE_BYTES as NONCE_BYTES
from snapkit.format.encoding import OVERHEAD as OVERHEAD
from snapkit.format.encoding import TAG_BYTES as TAG_BYTES
from snapkit.format.errors import IntegrityError, WrongPassphrase

KDF = "scrypt"
#: What each kind of object is bound to (AES-GCM associated data).
KINDS = ("blob", "trailer", "index", "snapshot", "lock", "config", "key")
#: scrypt's r and p (fixed); n is tuned per key file (:func:`tune_kdf`).
SCRYPT_R = 8
SCRYPT_P = 1
#: The smallest n a key file may name (weaker files are refused as damaged or hostile).
MIN_SCRYPT_N = 1 << 14
#: The largest n (memory: 128 * r * n bytes = 1 GiB at 2^20).
MAX_SCRYPT_N = 1 << 20
KEY_FILE_VERSION = 1


@dataclass(frozen=True)
class KdfParams:
    """scrypt's parameters for one key file."""

    n: int
    salt: bytes
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def derive(self, passphrase: bytes) -> bytes:
        """The 32-byte key that wraps the master key."""
        import hashlib  # (here: a plain repository never loads OpenSSL's hashes)

        return hashlib.scrypt(passphrase, salt=self.salt, n=self.n, r=self.r, p=self.p,
                              maxmem=256 * self.r * self.n + (1 << 20), dklen=32)


def tune_kdf(target_s: float = 0.5, start_n: int = MIN_SCRYPT_N) -> KdfParams:
    """scrypt parameters whose derivation takes about ``target_s`` here (n doubled from
    ``start_n`` until one run takes at least half of it), with a new random salt."""
    n = start_n
    while n < MAX_SCRYPT_N:
        t = time.perf_counter()
        KdfParams(n, b"tune-salt-tune!!").derive(b"tune")
        if time.perf_counter() - t >= target_s / 2:
            break
        n <<= 1
    return KdfParams(n, os.urandom(16))


class MasterKey:
    """The repository's secret: seals and opens objects, computes keyed content ids."""

    def __init__(self, encrypt: bytes, ids: bytes) -> None:
        if len(encrypt) != 32 or len(ids) != 32:
            raise ValueError("a master key is two 32-byte keys")
        # imported here, not with the module: a plain repository never pays for the library
        # (nor for hashlib's OpenSSL, 2.4 ms of every command's start)
        import hashlib
        import hmac

        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.encrypt = encrypt
        self.ids = ids
        self._hmac_digest = hmac.digest
        self._blake2b = hashlib.blake2b
        self._aead = AESGCM(encrypt)
        self._invalid_tag: type[Exception] = InvalidTag

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(32), os.urandom(32))

    def seal(self, plain: bytes, kind: str, bind: bytes = b"") -> bytes:
        """``plain`` sealed: nonce + ciphertext + tag, bound to ``kind`` and to ``bind`` (a
        blob's id: it then opens under that id only)."""
        nonce, sealed = self.seal_split(plain, kind, bind)
        return nonce + sealed

    def seal_split(self, plain: bytes, kind: str, bind: bytes = b"") -> tuple[bytes, bytes]:
        """:meth:`seal`'s two parts, the nonce and the ciphertext + tag, not joined (a copy
        fewer for a blob, whose parts are written one after the other)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce, self._aead.encrypt(nonce, plain, _aad(kind) + bind)

    def open(self, sealed: bytes | memoryview, kind: str, what: str, bind: bytes = b"") -> bytes:
        """The plain bytes of a sealed object; IntegrityError naming ``what`` if it was altered,
        truncated, sealed under another key, for another kind or bound to something else."""
        if len(sealed) < OVERHEAD:
            raise IntegrityError(f"{what}: sealed object too short (damaged)")
        view = memoryview(sealed)  # (slices of a view copy nothing)
        try:
            return self._aead.decrypt(view[:NONCE_BYTES], view[NONCE_BYTES:], _aad(kind) + bind)
        except self._invalid_tag as exc:
            raise IntegrityError(f"{what}: authentication failed (damaged or tampered)") from exc

    def content_id(self, data: bytes) -> str:
        """The keyed id of plain bytes (32 hex): HMAC-SHA256 under the id key, truncated to
        128 bits."""
        return self._hmac_digest(self.ids, data, "sha256")[:16].hex()

    def mac(self, data: bytes) -> str:
        """A keyed MAC (hex) of ``data`` for a record kept outside any sealed object (the
        repository config), separate from the ids by its personalisation."""
        return self._blake2b(data, key=self.ids, digest_size=32,
                               person=b"snapkit-config").hexdigest()

    def to_bytes(self) -> bytes:
        return self.encrypt + self.ids

    @classmethod
    def from_bytes(cls, raw: bytes) -> MasterKey:
        if len(raw) != 64:
            raise IntegrityError("key file holds a master key of the wrong size (damaged)")
        return cls(raw[:32], raw[32:])


def _aad(kind: str) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown object kind {kind!r}")
    return b"snapkit " + kind.encode()


@dataclass(frozen=True)
class KeyFile:
    """One passphrase's wrapping of the master key (``keys/<id>``, JSON)."""

    kdf: KdfParams
    sealed: bytes
    created: str
    host: str
    user: str

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {
            "version": KEY_FILE_VERSION, "kdf": KDF,
            "n": self.kdf.n, "r": self.kdf.r, "p": self.kdf.p,
            "salt": base64.b64encode(self.kdf.salt).decode(),
            "cipher": CIPHER, "data": base64.b64encode(self.sealed).decode(),
            "created": self.created, "host": self.host, "user": self.user,
        }
        return json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, name: str) -> KeyFile:
        try:
            doc = json.loads(data)
            if doc.get("version") != KEY_FILE_VERSION or doc.get("kdf") != KDF \
                    or doc.get("cipher") != CIPHER:
                raise IntegrityError(f"key file {name}: unknown version, kdf or cipher")
            n, r, p = int(doc["n"]), int(doc["r"]), int(doc["p"])
            if not (MIN_SCRYPT_N <= n <= MAX_SCRYPT_N and n & (n - 1) == 0
                    and 1 <= r <= 32 and 1 <= p <= 16):
                raise IntegrityError(f"key file {name}: scrypt parameters out of range")
            return cls(KdfParams(n, base64.b64decode(doc["salt"], validate=True), r, p),
                       base64.b64decode(doc["data"], validate=True),
                       str(doc["created"]), str(doc["host"]), str(doc["user"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IntegrityError(f"key file {name} is not a snapkit key file: {exc}") from exc

    def unlock(self, passphrase: bytes, name: str) -> MasterKey:
        """The master key this file wraps; ``WrongPassphrase`` (exit 12) if the passphrase is not
        this file's (or the file was altered: the two cannot be told apart)."""
        wrapping = MasterKey(self.kdf.derive(passphrase), bytes(32))
        try:
            raw = wrapping.open(self.sealed, "key", f"key file {name}")
        except IntegrityError as exc:
            raise WrongPassphrase(f"the passphrase does not open key file {name}") from exc
        return MasterKey.from_bytes(raw)


def wrap(master: MasterKey, passphrase: bytes, kdf: KdfParams, *, created: str, host: str,
         user: str) -> KeyFile:
    """A key file opening ``master`` with ``passphrase``."""
    wrapping = MasterKey(kdf.derive(passphrase), bytes(32))
    return KeyFile(kdf, wrapping.seal(master.to_bytes(), "key"), created, host, user)
