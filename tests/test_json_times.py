"""Every ``time`` that ``--json`` prints is RFC 3339 with its UTC offset (issue 11, item 13):
local time, the offset of the zone it is in, the same instant as ``time_ns``. It used to be
``2026-11-20 14:45:00`` with no zone, which a reader on another machine cannot place.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_env, invoke_main, make_tree

RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$"


@pytest.fixture(params=[("UTC0", timedelta(0)), ("EST+5", timedelta(hours=-5)),
                        ("IST-5:30", timedelta(hours=5, minutes=30))], ids=["utc", "est", "ist"])
def zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[timedelta]:
    """Local time in a POSIX TZ zone (no tz database needed); yields its offset."""
    monkeypatch.setenv("TZ", request.param[0])
    time.tzset()
    yield request.param[1]
    monkeypatch.undo()
    time.tzset()


def times(obj: Any) -> Iterator[tuple[str, int | None]]:
    """Every ("time", sibling "time_ns") pair in a JSON document."""
    if isinstance(obj, dict):
        if "time" in obj:
            yield obj["time"], obj.get("time_ns")
        for value in obj.values():
            yield from times(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from times(value)


def test_json_times_carry_their_offset(tmp_path: Path, zone: timedelta) -> None:
    src = make_tree(tmp_path / "src", {"a.json": b"{}"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    for _ in range(2):
        assert invoke_main(["snap", str(src), "-q"], env).code == 0
    docs = []
    for args in (["snapshots"], ["show", "latest"], ["find", "a.json"],
                 ["forget", "--keep-last", "1", "--dry-run"]):
        out = invoke_main([*args, "--json"], env)
        assert out.code == 0, out.stderr
        docs.extend(out.json_lines())
    seen = list(times(docs))
    assert len(seen) >= 2 + 1 + 2 + 2 + 2
    snaps = {row["id"]: row["time_ns"] for row in docs[0]}
    for text, time_ns in seen:
        assert re.match(RFC3339, text), text
        parsed = datetime.fromisoformat(text)
        assert parsed.utcoffset() == zone, text
        if time_ns is not None:
            assert int(parsed.timestamp()) == time_ns // 10**9
        else:
            assert int(parsed.timestamp()) in {t // 10**9 for t in snaps.values()}
