"""``snapkit.read.tar_sink.calc_chksums`` (installed as ``tarfile.calc_chksums``): the same
unsigned and signed header sums as the standard library's, for any header bytes."""

from __future__ import annotations

import os
import struct
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapkit.read import tar_sink


def stdlib(buf: bytes) -> tuple[int, int]:
    return (256 + sum(struct.unpack_from("148B8x356B", buf)),
            256 + sum(struct.unpack_from("148b8x356b", buf)))


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=512, max_size=600))
def test_the_sums_are_the_standard_librarys(buf: bytes) -> None:
    assert tar_sink.calc_chksums(buf) == stdlib(buf)


def test_every_byte_value_and_the_installed_function() -> None:
    for value in range(256):
        buf = bytes([value]) * 512
        assert tar_sink.calc_chksums(buf) == stdlib(buf)
    assert tarfile.calc_chksums is tar_sink.calc_chksums  # type: ignore[attr-defined]
    with pytest.raises(struct.error):
        tar_sink.calc_chksums(os.urandom(100))  # a short header fails as before


def test_archives_still_round_trip(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "a.tar")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("ünï\xe9/name")
        info.size = 3
        tar.addfile(info, __import__("io").BytesIO(b"abc"))
    with tarfile.open(path) as tar:
        member = tar.getmember("ünï\xe9/name")
        assert tar.extractfile(member).read() == b"abc"  # type: ignore[union-attr]
