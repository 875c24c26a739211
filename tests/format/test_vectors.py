"""Known-bytes vectors: the exact encoding of every record of repository format version 1.

Each test encodes one record built here and compares the bytes with the ones recorded below,
then decodes the recorded bytes and compares with the record. A failure means snapkit no
longer writes (or reads) what ``docs/format.md`` specifies: if that was not the intent, fix
the code; if it was, it is a new format version — bump ``FORMAT_VERSION``, keep reading v1
(``tests/format/test_frozen.py``), and add vectors for the new version beside these.

Hex is wrapped at 64 characters; ``_hex`` joins it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import msgpack
import pytest

from snapkit.format import archive_meta
from snapkit.format.archive_meta import ArchiveMeta
from snapkit.format.errors import UsageError
from snapkit.format.model import (
    FORMAT_VERSION,
    KIND_DATA,
    KIND_TREE,
    BlobEntry,
    Damage,
    Node,
    Skipped,
    Snapshot,
    Summary,
    Tree,
    content_id,
    decode_index,
    decode_index_file,
    decode_lock,
    decode_pack_trailer,
    decode_snapshot,
    decode_tree,
    encode_index,
    encode_lock,
    encode_pack_trailer,
    encode_snapshot,
    encode_tree,
    sort_nodes,
)
from snapkit.store import codec
from snapkit.store.pack import PackBuilder, parse_pack
from snapkit.store.repository import RepoConfig


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


T = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z
ID_HELLO = "b5e9c1ad071b3e7fc779cfaa5e523818"  # content_id(b"hello")
ID_T = "0123456789abcdef0123456789abcdef"
ID_F = "fedcba9876543210fedcba9876543210"
PACK_A = "aa" * 16
PACK_B = "11" * 16


def test_format_version_is_1() -> None:
    assert FORMAT_VERSION == 1
    assert (KIND_DATA, KIND_TREE) == (0, 1)


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize(("data", "want"), [
    (b"", "99aa06d3014798d86001c324468d497f"),  # the XXH3-128 reference value
    (b"hello", ID_HELLO),
    (b"snapkit", "b67a84f0fe2a679c67f260c7d02072ac"),
])
def test_blob_id_is_xxh3_128(data: bytes, want: str) -> None:
    assert content_id(data) == want


# --------------------------------------------------------------------------- blobs


def test_raw_blob() -> None:
    assert codec.encode(b"hello") == _hex("00 68656c6c6f")  # under 64 bytes: never compressed
    assert codec.decode(_hex("00 68656c6c6f"), 5) == b"hello"


#: ``b"snapkit " * 16`` as zstd level 3 wrote it: codec 0x01, then one zstd frame.
ZSTD_BLOB = _hex("0128b52ffd20807d000040736e61706b69742001007569e102")


def test_zstd_blob() -> None:
    plain = b"snapkit " * 16
    assert codec.decode(ZSTD_BLOB, len(plain)) == plain
    # The compressed bytes may differ between zstd releases (that is not a format change);
    # the header is the codec byte and a zstd frame's magic.
    stored = codec.encode(plain)
    assert stored[:5] == _hex("01 28b52ffd")
    assert codec.decode(stored, len(plain)) == plain


def test_incompressible_data_is_stored_raw() -> None:
    data = bytes(range(256))
    assert codec.encode(data) == b"\x00" + data


@pytest.mark.parametrize("codec_byte", [0x02, 0x10, 0x1F, 0xFF])
def test_unknown_codecs_are_refused(codec_byte: int) -> None:
    from snapkit.format.errors import IntegrityError

    with pytest.raises(IntegrityError, match=f"unknown blob codec 0x{codec_byte:02x}"):
        codec.decode(bytes([codec_byte]) + b"x", 1)


# --------------------------------------------------------------------------- trees

TREE = Tree(sort_nodes([
    Node("a.txt", "file", 0o644, T, ctime_ns=T + 1, size=5, inode=42, uid=1000, gid=1001,
         user="u", group="g", content=(ID_HELLO,), hash=ID_HELLO),
    Node("d", "dir", 0o755, T, ctime_ns=T, inode=43, subtree=ID_T),
    Node("l", "symlink", 0o777, T, target="a.txt"),
    Node("\udcff", "file", 0o600, T),  # the name byte 0xff, which is not UTF-8
]))

TREE_BYTES = _hex("""
82a17601a56e6f646573948da46e616d65c405612e747874a474797065a46669
6c65a46d6f6465cd01a4a56d74696d65cf17979cfe3d85cd15a56374696d65cf
17979cfe3d85cd16a473697a6505a5696e6f64652aa3756964cd03e8a3676964
cd03e9a475736572a175a567726f7570a167a7636f6e74656e7491c410b5e9c1
ad071b3e7fc779cfaa5e523818a468617368c410b5e9c1ad071b3e7fc779cfaa
5e5238188ca46e616d65c40164a474797065a3646972a46d6f6465cd01eda56d
74696d65cf17979cfe3d85cd15a56374696d65cf17979cfe3d85cd15a473697a
6500a5696e6f64652ba375696400a367696400a475736572a0a567726f7570a0
a773756274726565c4100123456789abcdef0123456789abcdef8ca46e616d65
c4016ca474797065a773796d6c696e6ba46d6f6465cd01ffa56d74696d65cf17
979cfe3d85cd15a56374696d6500a473697a6500a5696e6f646500a375696400
a367696400a475736572a0a567726f7570a0a6746172676574c405612e747874
8da46e616d65c401ffa474797065a466696c65a46d6f6465cd0180a56d74696d
65cf17979cfe3d85cd15a56374696d6500a473697a6500a5696e6f646500a375
696400a367696400a475736572a0a567726f7570a0a7636f6e74656e7490a468
617368c0
""")


def _node_map(name: bytes, ntype: str, mode: int, **kw: Any) -> dict[str, Any]:
    base = {"name": name, "type": ntype, "mode": mode, "mtime": T, "ctime": 0, "size": 0,
            "inode": 0, "uid": 0, "gid": 0, "user": "", "group": ""}
    return {**base, **kw}


def test_tree_vector() -> None:
    assert encode_tree(TREE) == TREE_BYTES
    assert content_id(TREE_BYTES) == "92e1863c9ab43e95e09e2d7249cb2ab5"  # its blob id
    assert decode_tree(TREE_BYTES) == TREE
    # The same bytes, as docs/format.md describes them ("Tree objects").
    assert msgpack.unpackb(TREE_BYTES) == {"v": 1, "nodes": [
        _node_map(b"a.txt", "file", 0o644, ctime=T + 1, size=5, inode=42, uid=1000, gid=1001,
                  user="u", group="g", content=[bytes.fromhex(ID_HELLO)],
                  hash=bytes.fromhex(ID_HELLO)),
        _node_map(b"d", "dir", 0o755, ctime=T, inode=43, subtree=bytes.fromhex(ID_T)),
        _node_map(b"l", "symlink", 0o777, target=b"a.txt"),
        _node_map(b"\xff", "file", 0o600, content=[], hash=None),
    ]}


# --------------------------------------------------------------------------- snapshots

SNAPSHOT = Snapshot(
    time_ns=T, hostname="host", username="user", sources=("/src",), tree=ID_T, parent=ID_F,
    tags=("t1",), mode="full", program_version="1.2.3",
    summary=Summary(files_new=1, total_files=1, total_bytes=5, duration_s=0.5),
    skipped=(Skipped("/src/s", "socket", ""),), warnings=("w",), rules=("/src: r",),
    service={"policy": "auto"}, sqlite=("/src/db",),
)

SNAPSHOT_BYTES = _hex("""
de0010a17601a474696d65cf17979cfe3d85cd15a8686f73746e616d65a4686f
7374a8757365726e616d65a475736572a7736f757263657391a42f737263a474
726565c4100123456789abcdef0123456789abcdefa6706172656e74d9206665
646362613938373635343332313066656463626139383736353433323130a474
61677391a27431a46d6f6465a466756c6caf70726f6772616d5f76657273696f
6ea5312e322e33a773756d6d6172798da966696c65735f6e657701ad66696c65
735f6368616e67656400b066696c65735f756e6d6f64696669656400a4646972
7300a873796d6c696e6b7300ab746f74616c5f66696c657301ab746f74616c5f
627974657305aa62797465735f7265616400ab626c6f62735f616464656400af
62797465735f61646465645f72617700b262797465735f61646465645f73746f
72656400b06578636c756465645f656e747269657300aa6475726174696f6e5f
73cb3fe0000000000000a7736b69707065649193a62f7372632f73a6736f636b
6574a0a87761726e696e677391a177a572756c657391a72f7372633a2072a773
65727669636581a6706f6c696379a46175746fa673716c69746591a72f737263
2f6462
""")


def test_snapshot_manifest_vector() -> None:
    assert encode_snapshot(SNAPSHOT) == SNAPSHOT_BYTES
    assert content_id(SNAPSHOT_BYTES) == "85ccc790349786145f2813e274af71ff"  # its id
    assert decode_snapshot(SNAPSHOT_BYTES) == SNAPSHOT


def test_snapshot_manifest_optional_maps() -> None:
    """``openclaw`` and ``imported`` are written only when set, after every other key."""
    snap = Snapshot(time_ns=0, hostname="h", username="", sources=(), tree=ID_T,
                    openclaw={"state_dir": "/s"}, imported={"complete": True})
    doc = msgpack.unpackb(encode_snapshot(snap))
    assert list(doc)[-2:] == ["openclaw", "imported"]
    assert doc["openclaw"] == {"state_dir": "/s"} and doc["imported"] == {"complete": True}
    assert "openclaw" not in msgpack.unpackb(SNAPSHOT_BYTES)


def test_snapshot_manifest_started_is_optional() -> None:
    """``started`` (the real start beside a ``snap --time``) is written only when set, last;
    a reader ignores keys it does not know, so an older snapkit reads such a manifest (by its
    ``time``) and this one reads older manifests (``started_ns`` None: ``time`` is the
    start)."""
    snap = replace(SNAPSHOT, time_ns=T - 10**12, started_ns=T)
    data = encode_snapshot(snap)
    doc = msgpack.unpackb(data)
    assert list(doc)[-1] == "started" and doc["started"] == T and doc["time"] == T - 10**12
    assert decode_snapshot(data) == snap and snap.taken_ns == T
    assert "started" not in msgpack.unpackb(SNAPSHOT_BYTES)
    assert decode_snapshot(SNAPSHOT_BYTES).started_ns is None and SNAPSHOT.taken_ns == T
    doc["a key from a later version"] = [1, 2]
    assert decode_snapshot(msgpack.packb(doc)) == snap


def test_snapshot_text_that_is_not_utf8_is_escaped() -> None:
    snap = Snapshot(time_ns=0, hostname="h", username="", sources=("/a\udcff",), tree=ID_T)
    assert msgpack.unpackb(encode_snapshot(snap))["sources"] == ["/a\\xff"]


# --------------------------------------------------------------------------- packs and index

ENTRIES = [
    BlobEntry(ID_HELLO, KIND_DATA, PACK_A, 8, 6, 5),
    BlobEntry(ID_T, KIND_TREE, PACK_A, 14, 20, 30),
    BlobEntry(ID_F, KIND_DATA, PACK_B, 8, 3, 2),
]

INDEX_BYTES = _hex("""
82a17601a57061636b739282a26964c410111111111111111111111111111111
11a5626c6f6273919500c410fedcba9876543210fedcba987654321008030282
a26964c410aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5626c6f6273929500c410
b5e9c1ad071b3e7fc779cfaa5e5238180806059501c4100123456789abcdef01
23456789abcdef0e141e
""")


def test_index_file_vector() -> None:
    assert encode_index(ENTRIES) == INDEX_BYTES  # packs sorted by id, blobs in given order
    assert content_id(INDEX_BYTES) == "26b1eeccc50475a0b3bd40474ea679fc"  # its file name
    assert sorted(decode_index(INDEX_BYTES, "x"), key=lambda e: e.id) == sorted(
        ENTRIES, key=lambda e: e.id)
    assert msgpack.unpackb(INDEX_BYTES) == {"v": 1, "packs": [
        {"id": bytes.fromhex(PACK_B), "blobs": [[0, bytes.fromhex(ID_F), 8, 3, 2]]},
        {"id": bytes.fromhex(PACK_A), "blobs": [[0, bytes.fromhex(ID_HELLO), 8, 6, 5],
                                                 [1, bytes.fromhex(ID_T), 14, 20, 30]]},
    ]}


DAMAGE_INDEX_BYTES = _hex("""
83a17601a57061636b7390a764616d616765649193c4100123456789abcdef0123456789abcdefc410aaaaaaaaaa
aaaaaaaaaaaaaaaaaaaaaab5646f6573206e6f74206d6174636820697473206964
""")


def test_index_file_with_damage_vector() -> None:
    """An index file recording damage: no packs, a ``damaged`` list of [blob, pack, reason]
    (written by a read or a check that found the copy unreadable)."""
    record = Damage(ID_T, PACK_A, "does not match its id")
    assert encode_index([], [record]) == DAMAGE_INDEX_BYTES
    assert content_id(DAMAGE_INDEX_BYTES) == "2f313765111a7d43f9eb1d5cd1b31fb7"
    assert decode_index_file(DAMAGE_INDEX_BYTES, "x") == ([], [record])
    assert decode_index(DAMAGE_INDEX_BYTES, "x") == []  # entries only: as a v1 reader sees it
    assert decode_index_file(INDEX_BYTES, "x")[1] == []  # most index files record none


TRAILER_BYTES = _hex("""
929500c410b5e9c1ad071b3e7fc779cfaa5e5238180806059501c41001234567
89abcdef0123456789abcdef0e141e
""")


def test_pack_trailer_vector() -> None:
    assert encode_pack_trailer(ENTRIES[:2]) == TRAILER_BYTES
    assert decode_pack_trailer(TRAILER_BYTES, PACK_A) == ENTRIES[:2]


#: A pack of two blobs: "hello" raw, then ZSTD_BLOB.
PACK_ID = "fed36b6f52946aa6049115c9a6505b63"
PACK_BYTES = _hex("""
534e41504b504b310068656c6c6f0128b52ffd20807d000040736e61706b6974
2001007569e102929500c410b5e9c1ad071b3e7fc779cfaa5e52381808060595
00c4108672ffd400a9818500258c7b6d45b23c0e19cc8030000000534e41504b
454e44
""")


def test_pack_vector() -> None:
    snapkit16 = content_id(b"snapkit " * 16)
    builder = PackBuilder()
    builder.add(KIND_DATA, ID_HELLO, _hex("00 68656c6c6f"), 5)
    builder.add(KIND_DATA, snapkit16, ZSTD_BLOB, 128)
    pack_id, data, entries = builder.finish()
    assert data == PACK_BYTES
    assert pack_id == PACK_ID == content_id(PACK_BYTES)
    assert PACK_BYTES[:8] == b"SNAPKPK1" and PACK_BYTES[-8:] == b"SNAPKEND"
    trailer_len = int.from_bytes(PACK_BYTES[-12:-8], "little")
    assert trailer_len == 48
    want = [BlobEntry(ID_HELLO, KIND_DATA, PACK_ID, 8, 6, 5),
            BlobEntry(snapkit16, KIND_DATA, PACK_ID, 14, 25, 128)]
    assert entries == want
    assert parse_pack(PACK_ID, PACK_BYTES) == want


# --------------------------------------------------------------------------- locks and config

LOCK = {"host": "h", "pid": 1234, "pid_start": 1699999999.25, "time": 1700000000.5,
        "refreshed": 1700000000.5, "exclusive": False, "operation": "snap"}
LOCK_BYTES = _hex("""
87a4686f7374a168a3706964cd04d2a97069645f7374617274cb41d954fc3fd0
0000a474696d65cb41d954fc40200000a9726566726573686564cb41d954fc40
200000a96578636c7573697665c2a96f7065726174696f6ea4736e6170
""")


def test_lock_vector() -> None:
    assert encode_lock(LOCK) == LOCK_BYTES
    assert decode_lock(LOCK_BYTES) == LOCK


CONFIG_TEXT = """{
  "chunker": {
    "algorithm": "fastcdc2020",
    "avg_size": 32768,
    "max_size": 131072,
    "min_size": 16384,
    "normalization": 1,
    "seed": 0
  },
  "created": "2026-01-10T09:00:00+0000",
  "format": "snapkit-repository",
  "hash": "xxh3-128",
  "id": "00112233445566778899aabbccddeeff",
  "pack_size": 16777216,
  "version": 1,
  "zstd_level": 3
}
"""


def test_repository_config_vector() -> None:
    config = RepoConfig(id="00112233445566778899aabbccddeeff",
                        created="2026-01-10T09:00:00+0000")
    assert config.to_json() == CONFIG_TEXT.encode()
    assert RepoConfig.from_json(CONFIG_TEXT.encode(), "here") == config


# --------------------------------------------------------------------------- export archives

META = ArchiveMeta(
    snapshot="ab" * 16, sources=("/home/alice/.openclaw", "/x"), hostname="box",
    username="alice", time_ns=T, snapshot_mode="full", mode="full", tags=("pre-update", "b"),
    paths="absolute", files={"home/alice/.openclaw/openclaw.json": "cd" * 16, "x/e": ""},
    program_version="0.1.0",
)

#: The PAX ``comment`` record of ``snapkit export`` (snapkit layout).
META_TEXT = (
    '{"snapkit":{"checksum":"xxh3-128","files":{"home/alice/.openclaw/openclaw.json":'
    '"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","x/e":""},"format":1,"hostname":"box","mode":"full",'
    '"paths":"absolute","program_version":"0.1.0","snapshot":"abababababababababababababababab",'
    '"snapshot_mode":"full","sources":["/home/alice/.openclaw","/x"],"tags":["pre-update","b"],'
    '"time":"2023-11-14T22:13:20Z","time_ns":1700000000123456789,"username":"alice"}}'
)


def test_archive_metadata_vector() -> None:
    assert archive_meta.PAX_RECORD == "comment"
    assert META.encode() == META_TEXT
    assert archive_meta.decode(META_TEXT) == META


def test_archive_metadata_of_the_openclaw_layout() -> None:
    from dataclasses import replace

    meta = replace(META, layout="openclaw", mode="config-only")
    text = meta.encode()
    assert text == META_TEXT.replace('"hostname":"box",', '"hostname":"box","layout":"openclaw",'
                                     ).replace('"mode":"full","paths"', '"mode":"config-only",'
                                                                        '"paths"')
    assert archive_meta.decode(text) == meta


@pytest.mark.parametrize("raw", [None, "", "not json", "[1]", '{"other": {}}',
                                 '{"snapkit": "not a map"}'])
def test_no_archive_metadata(raw: str | None) -> None:
    assert archive_meta.decode(raw) is None


def test_archive_metadata_of_another_format_is_refused() -> None:
    doc = json.loads(META_TEXT)
    doc["snapkit"]["format"] = 2
    with pytest.raises(UsageError, match=r"x\.tar carries snapkit metadata format 2; this "
                                         "snapkit reads format 1"):
        archive_meta.decode(json.dumps(doc), "x.tar")


def test_archive_metadata_reader_takes_what_is_there() -> None:
    """Missing keys and values of the wrong type read as absent, as import always did."""
    meta = archive_meta.decode('{"snapkit": {"snapshot": 7, "tags": ["a", 1], "time_ns": "x",'
                               ' "files": [], "paths": "weird", "hostname": "h"}}')
    assert meta == ArchiveMeta(hostname="h", tags=("a",))
