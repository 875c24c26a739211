"""The store's cipher: plain (format 1) and sealed objects round-trip, a sealed object opens
only as its own kind under its own key, and any altered byte is an integrity error."""

from __future__ import annotations

import os

import pytest

from snapkit.format.crypto import MasterKey
from snapkit.format.errors import IntegrityError
from snapkit.format.model import content_id
from snapkit.store import codec
from snapkit.store.cipher import CODEC_SEALED, Plain, Sealed

BLOB = "ab" * 16


@pytest.mark.parametrize("data", [b"", b"x", b"a" * 5000, os.urandom(70_000)])
def test_blobs_round_trip_plain_and_sealed(data: bytes) -> None:
    encoded = codec.encode(data)
    plain, sealed = Plain(), Sealed(MasterKey.generate())
    assert plain.seal_blob(encoded, BLOB) == encoded
    assert plain.open_blob(plain.seal_blob(encoded, BLOB), len(data), BLOB) == data
    stored = sealed.seal_blob(encoded, BLOB)
    assert stored[0] == CODEC_SEALED
    # (a plain text too short to tell apart from chance in random bytes is not looked for: one
    # byte turns up in ~30 random ones about one time in nine)
    assert len(data) < 8 or data[:16] not in stored[1:]
    assert sealed.open_blob(stored, len(data), BLOB) == data
    assert sealed.seal_blob(encoded, BLOB) != stored  # a fresh nonce each time


def test_ids_are_keyed_only_when_sealed() -> None:
    key = MasterKey.generate()
    assert Plain().content_id(b"abc") == content_id(b"abc")
    keyed = Sealed(key).content_id(b"abc")
    assert keyed != content_id(b"abc") and len(keyed) == 32
    assert Sealed(MasterKey.generate()).content_id(b"abc") != keyed
    assert Sealed(key).content_id(b"abc") == keyed


def test_a_sealed_object_opens_only_as_its_kind_under_its_key() -> None:
    key = MasterKey.generate()
    sealed = Sealed(key)
    stored = sealed.seal(b"manifest bytes", "snapshot")
    assert sealed.open(stored, "snapshot", "snapshot s") == b"manifest bytes"
    with pytest.raises(IntegrityError, match="index i: authentication failed"):
        sealed.open(stored, "index", "index i")
    with pytest.raises(IntegrityError, match="authentication failed"):
        Sealed(MasterKey.generate()).open(stored, "snapshot", "snapshot s")


def test_every_altered_byte_of_a_sealed_blob_is_found() -> None:
    sealed = Sealed(MasterKey.generate())
    data = os.urandom(300)
    stored = sealed.seal_blob(codec.encode(data), BLOB)
    for i in range(len(stored)):
        bad = bytearray(stored)
        bad[i] ^= 0x01
        with pytest.raises(IntegrityError):
            sealed.open_blob(bytes(bad), len(data), BLOB)
    with pytest.raises(IntegrityError):
        sealed.open_blob(stored[:-1], len(data), BLOB)


def test_plain_and_sealed_blobs_are_not_mistaken_for_one_another() -> None:
    sealed = Sealed(MasterKey.generate())
    encoded = codec.encode(b"payload" * 20)
    with pytest.raises(IntegrityError, match="is not sealed in an encrypted repository"):
        sealed.open_blob(encoded, 140, BLOB)
    with pytest.raises(IntegrityError, match="is sealed, but this repository is not encrypted"):
        Plain().open_blob(sealed.seal_blob(encoded, BLOB), 140, BLOB)


def test_a_sealed_blob_opens_under_its_own_id_only() -> None:
    """The id is in the associated data: a sealed blob put in another blob's place (a pack
    swapped for another under its name) does not open, so no hash is needed to tell."""
    sealed = Sealed(MasterKey.generate())
    encoded = codec.encode(b"the content of one blob" * 10)
    stored = sealed.seal_blob(encoded, BLOB)
    assert sealed.binds_ids and not Plain().binds_ids
    with pytest.raises(IntegrityError, match=f"blob {'cd' * 16}: authentication failed"):
        sealed.open_blob(stored, 230, "cd" * 16)
