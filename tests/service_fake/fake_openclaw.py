"""A fake ``openclaw`` CLI for the service tests: ``openclaw gateway start|stop|status|run``.

The tests copy this file to ``<tmp>/bin/openclaw`` with a shebang naming the test interpreter
and put that directory first on PATH. ``gateway start`` launches ``openclaw gateway run --port
18789`` in the background (its command line matches snapkit's default gateway pattern), waits
until it is ready and returns; ``gateway run`` is the gateway: it opens a WAL-mode SQLite store
(``memory/main.sqlite``) and, unless ``FAKE_GATEWAY_TRANSCRIPT=0``, a session transcript
(``agents/main/sessions/s-1.jsonl``) under ``$OPENCLAW_STATE_DIR`` and writes to both until
SIGTERM, then checkpoints and closes like OpenClaw does. ``gateway stop`` sends SIGTERM and waits
for the exit; ``gateway status`` prints ``Gateway: running (pid N)`` or ``Gateway: not running``.

Every call is appended to ``$FAKE_OPENCLAW_RUN/calls.log`` (one subcommand a line, and
``stop-done`` when a stop has completed) so tests can check the order of stop and start; the
pidfile lives in the same directory. Subcommands named
in ``FAKE_OPENCLAW_FAIL`` (comma-separated) fail with exit status 1 after being logged;
``FAKE_OPENCLAW_STOP_DELAY`` (seconds) slows ``stop`` down before it signals the gateway.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

LIFETIME = 120.0  # a gateway nobody stopped exits by itself after this long


def run_dir() -> Path:
    path = Path(os.environ["FAKE_OPENCLAW_RUN"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def log(entry: str) -> None:
    with open(run_dir() / "calls.log", "a", encoding="utf-8") as handle:
        handle.write(entry + "\n")


def pidfile() -> Path:
    return run_dir() / "gateway.pid"


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_pid() -> int | None:
    try:
        pid = int(pidfile().read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def gateway_run() -> int:
    state = Path(os.environ["OPENCLAW_STATE_DIR"])
    (state / "memory").mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(state / "memory" / "main.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=1000")
    db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, body TEXT)")
    transcript = None
    if os.environ.get("FAKE_GATEWAY_TRANSCRIPT", "1") != "0":
        sessions = state / "agents" / "main" / "sessions"
        sessions.mkdir(parents=True, exist_ok=True)
        transcript = open(sessions / "s-1.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    stopping = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # Ready: the files are open. Write the pidfile atomically.
    tmp = pidfile().with_suffix(".tmp")
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, pidfile())

    started = time.monotonic()
    n = 0
    while not stopping and time.monotonic() - started < LIFETIME:
        n += 1
        db.execute("INSERT INTO events (body) VALUES (?)", (f"event {n}",))
        if transcript is not None:
            transcript.write(json.dumps({"n": n, "role": "assistant", "text": "hi"}) + "\n")
            transcript.flush()
        time.sleep(0.02)

    if transcript is not None:
        transcript.close()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    try:
        if pidfile().read_text().strip() == str(os.getpid()):
            pidfile().unlink()
    except OSError:
        pass
    return 0


def gateway_start() -> int:
    pid = running_pid()
    if pid is not None:
        print(f"Gateway already running (pid {pid})")
        return 0
    with open(run_dir() / "gateway.err", "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "gateway", "run", "--port", "18789"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True,
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if running_pid() == proc.pid:
            print(f"Gateway started (pid {proc.pid})")
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    print("Gateway failed to start", file=sys.stderr)
    return 1


def gateway_stop() -> int:
    delay = float(os.environ.get("FAKE_OPENCLAW_STOP_DELAY", "0") or 0)
    if delay:
        time.sleep(delay)
    pid = running_pid()
    if pid is None:
        print("Gateway not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.01)
    if alive(pid):
        print(f"Gateway (pid {pid}) did not stop", file=sys.stderr)
        return 1
    print("Gateway stopped")
    log("stop-done")
    return 0


def gateway_status() -> int:
    pid = running_pid()
    if pid is None:
        print("Service: fake (installed)\nGateway: not running")
        return 3
    print(f"Service: fake (installed)\nGateway: running (pid {pid})")
    return 0


COMMANDS = {"run": gateway_run, "start": gateway_start, "stop": gateway_stop,
            "status": gateway_status}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("gateway", "daemon") or argv[1] not in COMMANDS:
        print("usage: openclaw gateway start|stop|status|run", file=sys.stderr)
        return 2
    command = argv[1]
    log(command)
    failing = {c.strip() for c in os.environ.get("FAKE_OPENCLAW_FAIL", "").split(",")}
    if command in failing:
        print(f"openclaw gateway {command}: simulated failure", file=sys.stderr)
        return 1
    return COMMANDS[command]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
