"""What the ``snapkit schedule`` tests share: a user whose every directory is in a temporary
directory (no user systemd to reach, no crontab on PATH), the units install writes, and the
job's command run as a scheduler runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from encrypted_mode import PASSPHRASE
from helpers import ENCRYPTED_MODE, cli_env, invoke_main

from snapkit.ops.schedule import systemd


def sched_env(tmp: Path) -> dict[str, str]:
    """The test's user: every directory below ``tmp``, no user systemd to reach, and a PATH
    holding only the real ``systemctl`` and ``loginctl`` — so no test but the one meant to
    reads or writes this machine's real crontab (which HOME does not isolate)."""
    (tmp / "runtime").mkdir(mode=0o700, exist_ok=True)
    tools = tmp / "bin"
    tools.mkdir(exist_ok=True)
    for name in ("systemctl", "loginctl"):
        real = shutil.which(name)
        if real and not (tools / name).exists():
            (tools / name).symlink_to(real)
    env = cli_env(tmp, XDG_STATE_HOME=str(tmp / "xdg-state"), SNAPKIT_REPO=str(tmp / "repo"),
                  OPENCLAW_STATE_DIR=str(tmp / "no-openclaw"),
                  XDG_RUNTIME_DIR=str(tmp / "runtime"), PATH=str(tools),
                  DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp / 'no-bus'}")
    if ENCRYPTED_MODE:  # a job is given the passphrase as a user gives it: in a file it carries
        (tmp / "passphrase").write_bytes(PASSPHRASE)
        (tmp / "passphrase").chmod(0o600)  # (else each use warns: keep it 0600)
        env["SNAPKIT_PASSWORD_FILE"] = str(tmp / "passphrase")
    return env


def units(tmp: Path) -> tuple[Path, Path]:
    base = tmp / "xdg-config" / "systemd" / "user"
    return base / "snapkit-snap.service", base / "snapkit-snap.timer"


def exec_start(tmp: Path) -> list[str]:
    values = systemd.unit_values(units(tmp)[0].read_text())
    return systemd.split(values["ExecStart"])


def run_job(argv: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """The job's command, run as a systemd user manager would: its own small environment
    (no SNAPKIT_* or OPENCLAW_* variables, no PYTHONPATH), from the home directory — the
    test user's, ``tmp`` (as :func:`sched_env`'s)."""
    env = {"HOME": str(tmp), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run(argv, env=env, cwd=tmp, capture_output=True, text=True,
                          timeout=120, check=False)


def status_json(env: dict[str, str]) -> dict[str, Any]:
    result = invoke_main(["schedule", "status", "--json"], env)
    assert result.code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.text)
    return data


def snapshots(env: dict[str, str]) -> list[dict[str, Any]]:
    result = invoke_main(["snapshots", "--json"], env)
    assert result.code == 0, result.stderr
    data = json.loads(result.text)
    return list(data if isinstance(data, list) else data["snapshots"])
