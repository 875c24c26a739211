"""The live progress line and the ``--json`` progress numbers (issue 16, a new-user trial's
findings 4-6): the line fits the terminal's width without cutting a number (fields dropped
whole, the path shortened from the left), 80 columns when the width cannot be told; no rate
from a first frame milliseconds in; an ETA only from a known, non-zero pace and never an
absurd one; once a run outgrows its totals, no percent and no ETA."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from snapkit.cli import common
from snapkit.cli.progress_line import ETA_MAX_S, pace, pace_json, progress_line

MiB = 1 << 20
PATH = "/home/tester/.openclaw/agents/main/sessions/2026-11-30-very-long-name.jsonl"


def _line(width: int, path: str = PATH) -> str:
    p = pace(1_234, 100 * MiB, 4.0, 7_733, 249 * MiB)
    return progress_line(p, path, width)


def test_a_wide_line_holds_every_field_and_the_whole_path() -> None:
    assert _line(200) == ("1,234/7,733 files  100.0 MiB/249.0 MiB  40%  25.0 MiB/s  0:04  "
                          f"ETA 0:05  {PATH}")


def test_at_80_columns_the_path_keeps_its_end() -> None:
    """The trial's ``… 59.8 MiB/s  0:00  /tmp/tester/dat…``: the path's head was kept."""
    assert _line(79) == ("1,234/7,733 files  100.0 MiB/249.0 MiB  40%  25.0 MiB/s  ETA 0:05  "
                         "…-name.jsonl")  # (the elapsed time made way for the path)
    short = progress_line(pace(3, 5 * MiB, 1.0, None, None), PATH, 79)
    assert len(short) == 79 and short.startswith("3 files  5.0 MiB  5.0 MiB/s  0:01  …")
    assert PATH.endswith(short.split("…", 1)[1])


@pytest.mark.parametrize("width", [40, 50])
def test_a_narrow_line_drops_fields_whole_never_cuts_a_number(width: int) -> None:
    line = _line(width - 1)
    assert len(line) <= width - 1 and "…" not in line.replace("…/", "")
    assert "100.0 MiB/249.0 MiB" in line and "ETA 0:05" in line  # kept last
    # Each field is there whole or not at all.
    for field in line.split("  "):
        assert field in {"1,234/7,733 files", "100.0 MiB/249.0 MiB", "40%", "25.0 MiB/s",
                         "0:04", "ETA 0:05"} or PATH.endswith(field.lstrip("…")), (line, field)
    if width == 50:
        assert line == "100.0 MiB/249.0 MiB  40%  25.0 MiB/s  ETA 0:05"
    else:
        assert line == "100.0 MiB/249.0 MiB  40%  ETA 0:05"


def test_unknown_width_is_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``script -qc`` the terminal has no window size: 0 columns (was: 20)."""
    import os as os_module

    monkeypatch.setattr(os_module, "get_terminal_size", lambda _fd: os.terminal_size((0, 0)))
    assert common._columns() == 80

    def fails(_fd: int) -> os.terminal_size:
        raise OSError("not a terminal")

    monkeypatch.setattr(os_module, "get_terminal_size", fails)
    assert common._columns() == 80


def test_no_window_size_on_a_real_pseudo_terminal() -> None:
    if sys.platform == "win32":
        pytest.skip("no pseudo-terminals (pty) on Windows")
    import pty

    main, side = pty.openpty()  # a fresh pty: rows and columns 0, as under script -qc
    try:
        saved = os.dup(2)
        os.dup2(side, 2)
        try:
            assert common._columns() == 80
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    finally:
        os.close(main)
        os.close(side)


def test_totals_outgrown_show_done_only_and_null_percent_and_eta() -> None:
    """A 400 MB file added since the parent (which held 2 B): not '2/1 files ... 100%'."""
    p = pace(2, 400 * MiB, 1.0, 1, 2)
    assert (p.total_files, p.fraction, p.eta) == (None, None, None)
    assert progress_line(p, "/t/big", 79) == "2 files  400.0 MiB  400.0 MiB/s  0:01  /t/big"
    doc = pace_json(p)
    assert (doc["percent"], doc["eta_s"], doc["total_files"], doc["bytes"]) == (
        None, None, None, 400 * MiB)
    # more files than planned, bytes still within: outgrown as well
    assert pace(3, 10, 2.0, 2, 1000).fraction is None


def test_a_zero_rate_gives_no_eta_and_a_first_frame_no_rate() -> None:
    stalled = pace(1, 0, 3.0, 3, 5 * 1024 ** 3)
    assert stalled.eta is None and stalled.rate == 0
    assert progress_line(stalled, "/t/a", 79) == "1/3 files  0 B/5.0 GiB  0%  0 B/s  0:03  /t/a"
    # 2 bytes of 4.7 GiB in 3 s: an ETA of 2,733,122 hours is not shown
    crawl = pace(1, 2, 3.0, 3, int(4.7 * 1024 ** 3))
    assert crawl.eta is None
    assert pace(1, 20 * MiB, 1.0, 3, 100 * MiB).eta == 4.0
    # a first frame 5 ms in: no rate (was 42.5 GiB/s), from 0.5 s or 1 MiB on
    first = pace(1, 4_000, 0.005, 12, 55_000)
    assert first.rate is None and first.eta is None
    assert progress_line(first, "f", 79) == "1/12 files  3.9 KiB/53.7 KiB  7%  0:00  f"
    assert pace(1, 2 * MiB, 0.01, None, None).rate == 200 * MiB
    assert pace(1, 4_000, 0.5, None, None).rate == 8_000
    assert pace(1, 1, 1e-9, 1, 1).eta == 0.0  # all done
    assert ETA_MAX_S == 100 * 3600


def test_the_rate_of_snap_counts_the_bytes_read() -> None:
    from snapkit.cli.snap_view import progress_text, snap_pace
    from snapkit.ops.snap import SnapProgress

    unchanged = SnapProgress(9, 1, 90 * MiB, 0, 2.0, "/s/x", 10, 100 * MiB)
    p = snap_pace(unchanged)
    assert p.rate == 0 and p.eta is not None and round(p.eta, 3) == round(2.0 / 9, 3)
    assert progress_text(unchanged, 200) == (
        "9/10 files  90.0 MiB/100.0 MiB  90%  0 B/s  0:02  ETA 0:00  /s/x")
    outgrown = SnapProgress(2, 1, 400 * MiB, 400 * MiB, 1.0, "/s/big", 1, 2)
    assert outgrown.fraction is None and outgrown.eta_s is None
    assert progress_text(outgrown) == "2 files  400.0 MiB  400.0 MiB/s  0:01  /s/big"


def test_file_progress_json_of_outgrown_totals(tmp_path: Path) -> None:
    from snapkit.cli.common import FileProgress, Settings
    from snapkit.ops.events import FileWritten

    progress = FileProgress(Settings(json=True), json_events=True)
    progress.started -= 2.0
    doc = progress.progress_json(FileWritten("/t/b", 10, 5, 3 * MiB, 4, 2 * MiB))
    assert (doc["percent"], doc["eta_s"], doc["total_files"], doc["bytes"]) == (
        None, None, None, 3 * MiB)
    doc = progress.progress_json(FileWritten("/t/b", 10, 2, MiB, 4, 2 * MiB))
    assert doc["percent"] == 50.0 and doc["eta_s"] == 2.0 and doc["current"] == "/t/b"


def test_copy_shows_the_same_line_in_blobs() -> None:
    """``copy``'s line is every command's (fitted, percent, rate, ETA), after which snapshot
    of how many, counting blobs."""
    from snapkit.cli.common import ProgressLine, Settings
    from snapkit.cli.copy_view import Watcher
    from snapkit.maintain.copy import CopyProgress

    watcher = Watcher(Settings(), ProgressLine(Settings()))
    progress = CopyProgress("0123456789abcdef", 2, 3, 40, 100, 100 * MiB, 250 * MiB)
    watcher._progress(progress, 200)  # the snapshot's clock starts
    watcher.started -= 4.0
    assert watcher._progress(progress, 200) == (
        "copy 2/3 01234567  40/100 blobs  100.0 MiB/250.0 MiB  40%  25.0 MiB/s  0:04  ETA 0:06")
    narrow = watcher._progress(progress, 60)
    assert len(narrow) <= 60 and narrow.startswith("copy 2/3 01234567  ")
    assert "100.0 MiB/250.0 MiB" in narrow and "ETA 0:06" in narrow
