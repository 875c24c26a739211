"""``snapkit.read.dirfds``: a tree deeper than the descriptors kept is reached by reopening
the closed levels, each checked to be the directory first opened — one swapped meanwhile is
refused, not followed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snapkit.format.errors import SnapkitError
from snapkit.read import dirfds
from snapkit.read.dirfds import DIRFD, DirFds

pytestmark = pytest.mark.skipif(not DIRFD, reason="needs directory descriptors")

DEPTH = dirfds._FD_KEEP + 8


def _deep(base: Path) -> tuple[str, ...]:
    parts = tuple(f"d{i}" for i in range(DEPTH))
    fd = os.open(base, os.O_RDONLY)
    for name in parts:  # (through descriptors: the path is longer than some systems allow)
        os.mkdir(name, dir_fd=fd)
        new = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = new
    os.close(fd)
    return parts


def test_closed_levels_are_reopened(tmp_path: Path) -> None:
    parts = _deep(tmp_path)
    fds = DirFds(str(tmp_path), 0)
    try:
        fds.dirfd(parts)
        closed = [level for level, (_, fd, _) in enumerate(fds.stack) if fd < 0]
        assert closed and closed[0] == 1  # the upper ones closed to save descriptors
        # (back up to a closed level: reopened from the base, each level checked)
        assert os.fstat(fds.dirfd(parts[:3])).st_ino == os.stat(tmp_path / "d0/d1/d2").st_ino
        assert os.listdir(fds.dirfd(parts)) == []
    finally:
        fds.close()


def test_a_closed_level_swapped_meanwhile_is_refused(tmp_path: Path) -> None:
    parts = _deep(tmp_path)
    fds = DirFds(str(tmp_path), 0)
    try:
        fds.dirfd(parts)
        level = next(i for i, (_, fd, _) in enumerate(fds.stack) if fd < 0)
        swapped = tmp_path.joinpath(*parts[:level])
        os.rename(swapped, swapped.with_name("elsewhere"))
        swapped.mkdir()  # the same name, another directory
        with pytest.raises(SnapkitError, match="was replaced while the restore ran"):
            fds.dirfd(parts[: level + 1])  # (closed too: reopened through the swapped one)
    finally:
        fds.close()
