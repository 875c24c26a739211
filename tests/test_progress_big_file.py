"""The live line while one big file is read or written (issue 16, a new-user trial: "no line
at all for the whole 6.9 s run" of a 3 GB file, restore "frozen until the end"): on a real
pseudo-terminal, ``snap``, ``restore`` and ``export`` of a single file of 640 MiB (random
data, 40 MiB of it repeated: stored once, so that it takes a few seconds in all) draw frames
inside the file — bytes done of it, more than none and less than all, growing from frame to
frame. (How many frames depends on the machine's speed: a restore writes the 640 MiB at
2 GiB/s in a third of a second, one frame's interval and a half, so one mid-file frame is what
a fast run is sure to draw.)"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from helpers import cli_env, stderr_on_a_terminal

pytestmark = pytest.mark.skipif(sys.platform == "win32",
                                reason="no pseudo-terminals (pty) on Windows")

SIZE = 640 << 20
_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> list[str]:
    """Run the CLI with stderr on a 120-column pseudo-terminal; the frames it drew there."""
    drawn = stderr_on_a_terminal(argv, env, columns=120, timeout=120)
    return [part for part in drawn.split("\r\x1b[2K") if part.strip()]


def _done(frame: str) -> int:
    """The bytes done a progress frame shows (``1 files  75.1 MiB  …``, ``0/1 files  84.2
    MiB/190.7 MiB  …``)."""
    m = re.match(r"[\d,/]+ files  ([\d.]+) (B|KiB|MiB|GiB)[ /]", frame)
    assert m, frame
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def _growing(frames: list[str]) -> None:
    progress = [f for f in frames if " files  " in f and "\n" not in f]
    done = [_done(f) for f in progress]
    assert any(0 < d < SIZE for d in done), frames  # drawn inside the file, not at its end
    assert done == sorted(done) and (len(done) == 1 or done[0] < done[-1]), frames
    assert all(f.endswith("big.bin") for f in progress), frames  # the file under way


def test_one_big_file_shows_its_progress(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    block = os.urandom(40 << 20)  # (random: zeros would go by too fast)
    with (src / "big.bin").open("wb") as f:
        for _ in range(SIZE // len(block)):
            f.write(block)
    env = {**cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo")), "TERM": "xterm"}
    _growing(_on_a_terminal(["snap", str(src)], env))
    _growing(_on_a_terminal(["export", "latest", "-o", str(tmp_path / "a.tar")], env))
    (src / "big.bin").unlink()
    _growing(_on_a_terminal(["restore", "latest", "--target", str(tmp_path / "t")], env))
