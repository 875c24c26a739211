"""The msgpack encoding and the id spelling every stored record of the format uses.

Ids are 32 lowercase hex characters in Python and 16 raw bytes inside msgpack.
"""

from __future__ import annotations

from typing import Any

import msgpack

from snapkit.format.errors import IntegrityError

FORMAT_VERSION = 1

# What an encrypted repository's config names and a sealed object adds (``format.crypto``
# seals; these are here so that a plain repository's commands never load it).
CIPHER = "aes-256-gcm"
ID_FUNCTION = "hmac-sha256-128"
NONCE_BYTES = 12
TAG_BYTES = 16
#: Bytes a sealed object adds to its plain form.
OVERHEAD = NONCE_BYTES + TAG_BYTES


def id_bytes(hex_id: str) -> bytes:
    """An id as the 16 raw bytes stored inside msgpack."""
    return bytes.fromhex(hex_id)


def id_hex(raw: bytes) -> str:
    """A stored id as 32 hex characters; IntegrityError when it is not 16 bytes."""
    if not isinstance(raw, bytes) or len(raw) != 16:
        raise IntegrityError(f"malformed id {raw!r} in stored object")
    return raw.hex()


def pack_obj(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpack_obj(data: bytes, what: str) -> Any:
    """``data`` decoded; IntegrityError naming ``what`` when it is not valid msgpack, or is a
    map whose key is a map or a list (msgpack raises TypeError: bytes that are not what they
    should be, a damaged or sealed record, decode so now and then)."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        detail = str(exc) or type(exc).__name__  # some msgpack errors carry no message
        raise IntegrityError(f"{what} is not valid msgpack: {detail}") from exc
