"""``snapkit.read.tar_sink.pax_header``: the export's member headers built directly, byte for
byte what ``tarfile``'s ``TarInfo.tobuf`` gives in the PAX format (so an export's archive is
the same bytes as before), for the members an export writes and for every field that takes an
extended header; anything else goes through ``tobuf`` itself.
"""

from __future__ import annotations

import tarfile

import pytest

from snapkit.format.model import NODE_DIR, NODE_FILE, NODE_SYMLINK, Node
from snapkit.read.tar_sink import pax_header, tarinfo


def _same(info: tarfile.TarInfo) -> None:
    assert pax_header(info) == info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _node(kind: str = NODE_FILE, fields: dict[str, object] | None = None,
          target: str | None = None) -> Node:
    base: dict[str, object] = {"name": "x", "type": kind, "mode": 0o644, "target": target,
                               "mtime_ns": 1_700_000_000 * 10**9, "size": 12, "uid": 1000,
                               "gid": 1000, "user": "alice", "group": "staff"}
    base.update(fields or {})
    return Node(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [
    "a", "dir/file.txt", "x" * 99, "x" * 100, "x" * 101, "d/" * 60 + "f", "é.txt",
    "caf\udce9", "日本/" * 40, "sp ace=and\nnewline",
])
@pytest.mark.parametrize("kind", [NODE_FILE, NODE_DIR, NODE_SYMLINK])
def test_names_of_every_length_and_kind(name: str, kind: str) -> None:
    _same(tarinfo(name, _node(kind, target="t" * 120 if kind == NODE_SYMLINK else None)))


@pytest.mark.parametrize("fields", [
    {"mode": 0o4755}, {"mode": 0o170777}, {"uid": 0o7777777, "gid": 0o10000000},
    {"uid": 2**40}, {"size": 8**11 - 1}, {"size": 8**11}, {"mtime_ns": 0},
    {"mtime_ns": -1_500_000_000}, {"mtime_ns": 8**11 * 10**9}, {"mtime_ns": 1_234_567_891},
    {"user": "u" * 32, "group": "g" * 33}, {"user": "ü", "group": ""},
    {"user": "\udcff", "group": "x\udc80y"},
])
def test_fields_that_fit_and_fields_that_take_an_extended_header(fields: dict[str, object],
                                                                  ) -> None:
    _same(tarinfo("some/path", _node(fields=fields)))


def test_record_lengths_across_digit_boundaries() -> None:
    # a record's length counts its own digits: 9/10, 99/100, 999/1000 ... are the edge cases
    for n in range(90, 1100):
        _same(tarinfo("p" * n, _node()))


def test_anything_else_goes_through_tarfile() -> None:
    float_time = tarinfo("f", _node())
    float_time.mtime = 1.5
    bare_dir = tarfile.TarInfo("no-slash")
    bare_dir.type = tarfile.DIRTYPE
    device = tarfile.TarInfo("dev")
    device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 3
    given = tarinfo("f", _node())
    given.pax_headers = {"comment": "kept", "path": "other"}
    for info in (float_time, bare_dir, device, given):
        _same(info)
