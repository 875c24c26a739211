"""How a repository turns plain objects into stored bytes and back: plainly, or sealed.

Every reader and writer of the store goes through one :class:`Cipher`, so an encrypted
repository and a plain one differ in this module only. :class:`Plain` is the format of
version 1 (content ids are xxh3-128, objects stored as they are); :class:`Sealed` holds the
repository's :class:`~snapkit.format.crypto.MasterKey`: content ids are keyed (HMAC-SHA256-128
under the id key, so an id tells nothing about content to whoever lacks the key), and every
stored object is sealed with AES-256-GCM bound to its kind (a sealed index file does not open
as a manifest). A sealed blob is the codec byte :data:`CODEC_SEALED` (``0x10``, from the range
``docs/format.md`` reserves) followed by the sealed bytes of the plain codec byte and payload:
whether a blob was compressed is sealed too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from snapkit.format.errors import BlobUnreadable, IntegrityError
from snapkit.format.model import BlobEntry, content_id
from snapkit.store import codec

if TYPE_CHECKING:  # (a plain repository never loads the crypto module)
    from snapkit.format.crypto import MasterKey

CODEC_SEALED = 0x10
_SEALED = bytes((CODEC_SEALED,))


class Cipher(Protocol):
    """What the store asks of a repository's encryption (none, for :class:`Plain`)."""

    encrypted: bool
    #: a stored blob that opens is the one sealed for its id (its id is in the AEAD's
    #: associated data): no hash of its plain bytes is needed to tell
    binds_ids: bool

    def content_id(self, data: bytes) -> str:
        """The id of a blob of plain bytes ``data``."""
        ...

    def seal(self, plain: bytes, kind: str) -> bytes:
        """Stored bytes of a whole object of ``kind`` (index, snapshot, lock, trailer)."""
        ...

    def open(self, stored: bytes, kind: str, what: str) -> bytes:
        """Undo :meth:`seal`; IntegrityError naming ``what`` when it fails its check."""
        ...

    def seal_blob(self, encoded: bytes, blob_id: str) -> bytes:
        """Stored bytes of blob ``blob_id`` whose codec byte and payload are ``encoded``."""
        ...

    def open_blob(self, stored: bytes, raw_length: int, blob_id: str) -> bytes:
        """The plain bytes of stored blob ``blob_id`` (its codec undone)."""
        ...

    def seal_parts(self, head: bytes, payload: bytes | memoryview,
                   blob_id: str) -> tuple[bytes, bytes | memoryview]:
        """:meth:`seal_blob` of ``head + payload`` as two parts for a pack (not joined)."""
        ...


class Plain:
    """A repository without encryption (format version 1)."""

    encrypted = False
    binds_ids = False

    def content_id(self, data: bytes) -> str:
        return content_id(data)

    def seal(self, plain: bytes, kind: str) -> bytes:
        return plain

    def open(self, stored: bytes, kind: str, what: str) -> bytes:
        return stored

    def seal_blob(self, encoded: bytes, blob_id: str) -> bytes:
        return encoded

    def seal_parts(self, head: bytes, payload: bytes | memoryview,
                   blob_id: str) -> tuple[bytes, bytes | memoryview]:
        return head, payload

    def open_blob(self, stored: bytes, raw_length: int, blob_id: str) -> bytes:
        if stored[:1] == _SEALED:
            raise IntegrityError(f"blob {blob_id} is sealed, but this repository is not encrypted "
                                 "(damaged, or a blob of another repository)")
        return codec.decode(stored, raw_length)


class Sealed:
    """A repository encrypted under ``key``."""

    encrypted = True
    binds_ids = True

    def __init__(self, key: MasterKey) -> None:
        self.key = key

    def content_id(self, data: bytes) -> str:
        return self.key.content_id(data)

    def seal(self, plain: bytes, kind: str) -> bytes:
        return self.key.seal(plain, kind)

    def open(self, stored: bytes, kind: str, what: str) -> bytes:
        return self.key.open(stored, kind, what)

    def seal_blob(self, encoded: bytes, blob_id: str) -> bytes:
        return _SEALED + self.key.seal(encoded, "blob", bytes.fromhex(blob_id))

    def seal_parts(self, head: bytes, payload: bytes | memoryview,
                   blob_id: str) -> tuple[bytes, bytes | memoryview]:
        # the same bytes as seal_blob, as (codec byte + nonce, ciphertext + tag)
        nonce, sealed = self.key.seal_split(head + payload, "blob", bytes.fromhex(blob_id))
        return _SEALED + nonce, sealed

    def open_blob(self, stored: bytes, raw_length: int, blob_id: str) -> bytes:
        what = f"blob {blob_id}"
        if stored[:1] != _SEALED:
            raise IntegrityError(f"{what} is not sealed in an encrypted repository "
                                 "(damaged or tampered)")
        return codec.decode(self.key.open(memoryview(stored)[1:], "blob", what,
                                          bytes.fromhex(blob_id)), raw_length)


#: The cipher of every unencrypted repository.
PLAIN: Cipher = Plain()


def verified_blob(cipher: Cipher, blob_id: str, entry: BlobEntry, stored: bytes) -> bytes:
    """A stored blob's plain bytes, checked against its length and its id; raises
    :class:`BlobUnreadable` naming the blob and its pack."""
    if len(stored) != entry.length:
        raise BlobUnreadable(f"pack {entry.pack} is truncated at blob {blob_id}", blob_id,
                             entry.pack)
    try:
        plain = cipher.open_blob(stored, entry.raw_length, blob_id)
    except IntegrityError as exc:
        raise BlobUnreadable(f"blob {blob_id} in pack {entry.pack} is damaged ({exc.message})",
                             blob_id, entry.pack) from exc
    # (a sealed blob that opened is the one sealed for this id: ``check --read-data`` hashes
    # it all the same)
    if not cipher.binds_ids and cipher.content_id(plain) != blob_id:
        raise BlobUnreadable(f"blob {blob_id} in pack {entry.pack} does not match its id "
                             "(data corrupted)", blob_id, entry.pack)
    return plain
