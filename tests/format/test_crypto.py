"""The encryption primitives (``snapkit.format.crypto``): sealing binds content and kind, keyed
ids depend on the key, key files open with their passphrase only and refuse tampering."""

from __future__ import annotations

import json
import os

import pytest

from snapkit.format.crypto import (
    MIN_SCRYPT_N,
    OVERHEAD,
    KdfParams,
    KeyFile,
    MasterKey,
    tune_kdf,
    wrap,
)
from snapkit.format.errors import IntegrityError, WrongPassphrase

FAST = KdfParams(MIN_SCRYPT_N, b"0123456789abcdef")


def test_seal_and_open_round_trip_with_fresh_nonces() -> None:
    key = MasterKey.generate()
    a, b = key.seal(b"secret", "blob"), key.seal(b"secret", "blob")
    assert a != b and len(a) == len(b"secret") + OVERHEAD  # a new nonce each time
    assert key.open(a, "blob", "x") == key.open(b, "blob", "x") == b"secret"
    assert key.open(key.seal(b"", "index"), "index", "x") == b""


@pytest.mark.parametrize("cut", ["flip", "truncate", "short", "other-kind", "other-key"])
def test_any_change_fails_authentication(cut: str) -> None:
    key = MasterKey.generate()
    sealed = bytearray(key.seal(os.urandom(100), "snapshot"))
    kind, opener = "snapshot", key
    if cut == "flip":
        sealed[40] ^= 1
    elif cut == "truncate":
        sealed = sealed[:-1]
    elif cut == "short":
        sealed = sealed[:OVERHEAD - 1]
    elif cut == "other-kind":
        kind = "index"
    else:
        opener = MasterKey.generate()
    with pytest.raises(IntegrityError, match="manifest m"):
        opener.open(bytes(sealed), kind, "manifest m")


def test_content_ids_are_keyed() -> None:
    a, b = MasterKey.generate(), MasterKey.generate()
    assert a.content_id(b"data") == a.content_id(b"data")
    assert a.content_id(b"data") != b.content_id(b"data")
    assert len(a.content_id(b"data")) == 32


def test_key_file_opens_with_its_passphrase_only() -> None:
    master = MasterKey.generate()
    kf = wrap(master, b"correct horse", FAST, created="2026-12-01T00:00:00+0000", host="h",
              user="u")
    again = KeyFile.from_json(kf.to_json(), "k1")
    assert again == kf
    opened = again.unlock(b"correct horse", "k1")
    assert opened.to_bytes() == master.to_bytes()
    with pytest.raises(WrongPassphrase):
        again.unlock(b"wrong", "k1")


@pytest.mark.parametrize("field", ["data", "salt", "n", "cipher", "version", "garbage"])
def test_a_tampered_key_file_never_opens(field: str) -> None:
    kf = wrap(MasterKey.generate(), b"pw", FAST, created="t", host="h", user="u")
    doc = json.loads(kf.to_json())
    if field == "garbage":
        data = b"{not json"
    else:
        if field == "data":
            raw = bytearray(bytes.fromhex(doc["data"].encode().hex()))
            raw[10] = ord("A") if raw[10] != ord("A") else ord("B")
            doc["data"] = raw.decode()
        elif field == "salt":
            doc["salt"] = "AAAAAAAAAAAAAAAAAAAAAA=="
        elif field == "n":
            doc["n"] = 2  # far too weak: refused, not tried
        else:
            doc[field] = "other"
        data = json.dumps(doc).encode()
    with pytest.raises((IntegrityError, WrongPassphrase)):
        KeyFile.from_json(data, "k").unlock(b"pw", "k")


def test_tuning_doubles_n_until_about_the_target() -> None:
    params = tune_kdf(target_s=0.0)
    assert params.n == MIN_SCRYPT_N and len(params.salt) == 16
    assert tune_kdf(target_s=0.0).salt != params.salt
