"""``file_map``: a captured file's stored map, built directly, is the very map (same keys in the
same order, same values, same bytes) that encoding its ``Node`` gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snapkit.capture.chunker import Chunker
from snapkit.capture.file import Captured, capture_file, file_map
from snapkit.capture.nodes import node_from_stat
from snapkit.format.encoding import pack_obj
from snapkit.format.model import NODE_FILE, ChunkerParams, content_id, encode_node


@pytest.mark.parametrize("size", [0, 1, 3000, 16 * 1024, 300_000])
@pytest.mark.parametrize("name", ["a.txt", "été ☃.bin", os.fsdecode(b"raw-\xff\xfe")])
def test_file_map_is_the_encoded_node(tmp_path: Path, size: int, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(os.urandom(size // 2) + b"x" * (size - size // 2))
    os.chmod(path, 0o4751)
    saved: list[bytes] = []

    def save(data: bytes) -> str:
        saved.append(data)
        return content_id(data)

    cap = capture_file(str(path), Chunker(ChunkerParams()), save, expect=os.lstat(path))
    assert len(cap.content) == len(saved) >= (1 if size else 0)
    want = encode_node(node_from_stat(name, NODE_FILE, cap.st, content=cap.content,
                                      hash=cap.hash, size=cap.size))
    got = file_map(name, cap)
    assert list(got.items()) == list(want.items())
    assert pack_obj(got) == pack_obj(want)


def test_file_map_of_a_copy_keeps_the_stored_size(tmp_path: Path) -> None:
    """A database copy stores its own size, not the source's lstat size."""
    path = tmp_path / "db"
    path.write_bytes(b"y" * 100)
    st = os.lstat(path)
    cap = Captured(("ab" * 16,), 4096, st, 4096, False, "sqlite-backup", None, "cd" * 16)
    want = encode_node(node_from_stat("db", NODE_FILE, st, content=cap.content, hash=cap.hash,
                                      size=cap.size))
    assert list(file_map("db", cap).items()) == list(want.items())
    assert file_map("db", cap)["size"] == 4096


def test_captured_replace_keeps_the_other_fields(tmp_path: Path) -> None:
    st = os.lstat(tmp_path)
    cap = Captured(("ab" * 16,), 1, st, 1, False, hash="cd" * 16)
    other = cap._replace(method="sqlite-raw", warning="w")
    assert (other.method, other.warning, other.hash, other.content) == (
        "sqlite-raw", "w", "cd" * 16, cap.content)
