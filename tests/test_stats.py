"""``snapkit stats``: restore size, unique data and stored bytes, checked against what the
tree holds (duplicated files, a second snapshot of the same tree, compressible data)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from helpers import cli_env, invoke_main, make_tree


def test_stats_counts_unique_data_once(tmp_path: Path) -> None:
    blob = os.urandom(100_000)  # incompressible: stored about as large
    src = make_tree(tmp_path / "src", {"a.bin": blob, "b.bin": blob, "text.txt": b"x" * 50_000})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert invoke_main(["snap", str(src), "-q"], env).code == 0
    one = json.loads(invoke_main(["stats", "--json"], env).stdout)
    assert one["snapshots"] == 1 and one["files"] == 3
    assert one["restore_size"] == 250_000
    assert one["data_raw"] == 150_000  # the duplicate stored once
    assert 100_000 < one["data_stored"] < 101_000  # the text compresses to almost nothing
    assert one["dedup_ratio"] == round(250_000 / 150_000, 3)
    assert invoke_main(["snap", str(src), "-q", "--force"], env).code == 0
    both = json.loads(invoke_main(["stats", "--json"], env).stdout)
    assert both["restore_size"] == 500_000 and both["data_raw"] == 150_000
    assert both["data_stored"] == one["data_stored"]  # nothing new stored
    latest = json.loads(invoke_main(["stats", "latest", "--json"], env).stdout)
    assert latest["snapshots"] == 1 and latest["restore_size"] == 250_000
    text = invoke_main(["stats"], env).stdout
    assert "Restore size:  488.3 KiB in 6 files" in text
    assert "(deduplication 3.3x)" in text
