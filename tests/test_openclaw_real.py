"""The real OpenClaw harness itself: onboarding makes the 2026.9 layout the other tests rely on."""

from __future__ import annotations

import json
import sqlite3

from openclaw_real import API_KEY, RealInstall


def test_onboard_makes_the_2026_9_layout(real_openclaw: RealInstall) -> None:
    state = real_openclaw.state_dir
    config = json.loads(real_openclaw.config_path.read_text())
    entries = config["agents"]["entries"]
    assert set(entries) == {"main", "work"}
    assert entries["work"]["workspace"] == str(real_openclaw.home / "work-ws")
    # The API key lives in SQLite, not in a JSON file.
    with sqlite3.connect(f"file:{state / 'state' / 'openclaw.sqlite'}?mode=ro", uri=True) as db:
        (value,) = db.execute(
            "SELECT value_json FROM config_machine_state WHERE state_key = 'authProfiles.store'"
        ).fetchone()
    assert API_KEY in value
    assert not list(state.rglob("auth-profiles.json"))
