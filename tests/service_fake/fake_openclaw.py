"""A fake ``openclaw`` CLI and service manager: ``openclaw gateway start|stop|status|run``.

The real ``openclaw@2026.9.6`` runs in the tests too (``tests/test_service_real.py``), but only
as a foreground gateway: the test machines have no service manager (no systemd user instance,
no launchd, no schtasks), so ``openclaw gateway start`` there can never bring a gateway back.
This fake stands in for what cannot be reached here — a gateway that a service manager runs
and that ``gateway start`` restarts — and for failures that cannot be provoked on demand.

The tests copy this file to ``<tmp>/bin/openclaw`` with a shebang naming the test interpreter
and put that directory first on PATH. As the real CLI, it finds the state dir at
``$OPENCLAW_STATE_DIR``, else ``$HOME/.openclaw``.

* ``gateway start`` launches ``openclaw gateway run --port 18789`` in the background (its
  command line matches snapkit's default gateway pattern), waits until it is ready and returns.
* ``gateway run`` is the gateway: it opens a WAL-mode SQLite store (``memory/main.sqlite``)
  and, unless ``FAKE_GATEWAY_TRANSCRIPT=0``, a session transcript
  (``agents/main/sessions/s-1.jsonl``) under the state dir and writes to both until SIGTERM,
  then checkpoints and closes like OpenClaw does.
* ``gateway stop`` refuses off a terminal without ``--force`` (as the real one does), else
  sends SIGTERM and waits for the exit.
* ``gateway status`` prints ``Gateway: running (pid N)`` or ``Gateway: not running``;
  ``gateway status --json`` prints the fields of the real ``--json`` output snapkit reads:
  ``service`` (label ``systemd``, ``loaded``, ``runtime.status``/``pid``), ``port``
  (``status``, ``listeners``) and ``rpc.ok``. With ``FAKE_OPENCLAW_SUPERVISOR=none`` it reports
  what the real CLI reports without a service manager (``service-manager-unavailable``).

Every call is appended to ``$FAKE_OPENCLAW_RUN/calls.log`` (one subcommand a line, and
``stop-done`` when a stop has completed) so tests can check the order of stop and start; the
pidfile lives in the same directory. Subcommands named in ``FAKE_OPENCLAW_FAIL``
(comma-separated) fail with exit status 1 after being logged; those in
``FAKE_OPENCLAW_FAIL_ONCE`` fail the first time only. ``FAKE_OPENCLAW_START=noop`` makes
``start`` succeed without starting anything. ``FAKE_OPENCLAW_STOP_DELAY`` (seconds) slows
``stop`` down before it signals the gateway.
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
PORT = 18789
NON_INTERACTIVE_STOP = (
    "This stops the operator's running gateway service. Use an isolated dev gateway (openclaw "
    "gateway run --dev, or --profile <name> with a free port) for testing, or re-run with "
    "--force if you really mean it."
)


def run_dir() -> Path:
    path = Path(os.environ["FAKE_OPENCLAW_RUN"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_dir() -> Path:
    override = os.environ.get("OPENCLAW_STATE_DIR", "").strip()
    return Path(override) if override else Path(os.environ["HOME"]) / ".openclaw"


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
    state = state_dir()
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
    if os.environ.get("FAKE_OPENCLAW_START") == "noop":
        print("Gateway service started.")
        return 0
    pid = running_pid()
    if pid is not None:
        print(f"Gateway already running (pid {pid})")
        return 0
    with open(run_dir() / "gateway.err", "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "gateway", "run", "--port", str(PORT)],
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


def gateway_stop(args: list[str]) -> int:
    if "--force" not in args and not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(NON_INTERACTIVE_STOP, file=sys.stderr)
        return 1
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


def status_json(pid: int | None) -> dict[str, object]:
    managed = os.environ.get("FAKE_OPENCLAW_SUPERVISOR", "systemd") != "none"
    if managed:
        service: dict[str, object] = {
            "label": "systemd", "loaded": True, "loadedText": "enabled",
            "runtime": ({"status": "running", "state": "active", "subState": "running",
                         "pid": pid} if pid else {"status": "stopped", "state": "inactive"}),
        }
    else:
        service = {
            "label": "no supported service manager detected", "loaded": False,
            "inspectionReason": "service-manager-unavailable",
            "runtime": {"status": "unknown", "inspectionReason": "service-manager-unavailable"},
        }
    listeners = []
    if pid:
        command = f"{os.path.abspath(__file__)} gateway run --port {PORT}"
        listeners.append({"pid": pid, "command": "python3", "commandLine": command,
                          "address": f"127.0.0.1:{PORT}"})
    return {
        "service": service,
        "gateway": {"bindMode": "loopback", "bindHost": "127.0.0.1", "port": PORT},
        "hostDesktop": {"enabled": False, "state": "disabled"},
        "port": {"port": PORT, "status": "busy" if pid else "free", "listeners": listeners},
        "rpc": {"ok": bool(pid), "url": f"ws://127.0.0.1:{PORT}"},
    }


def gateway_status(args: list[str]) -> int:
    pid = running_pid()
    if "--json" in args:
        print(json.dumps(status_json(pid), indent=2))
        return 0
    if pid is None:
        print("Service: fake (installed)\nHost desktop: disabled\nGateway: not running")
        return 3
    print(f"Service: fake (installed)\nHost desktop: disabled\nGateway: running (pid {pid})")
    return 0


def fails(command: str) -> bool:
    failing = {c.strip() for c in os.environ.get("FAKE_OPENCLAW_FAIL", "").split(",")}
    if command in failing:
        return True
    once = {c.strip() for c in os.environ.get("FAKE_OPENCLAW_FAIL_ONCE", "").split(",")}
    marker = run_dir() / f"failed-once-{command}"
    if command in once and not marker.exists():
        marker.write_text("1")
        return True
    return False


def main(argv: list[str]) -> int:
    commands = ("run", "start", "stop", "status")
    if len(argv) < 2 or argv[0] not in ("gateway", "daemon") or argv[1] not in commands:
        print("usage: openclaw gateway start|stop|status|run", file=sys.stderr)
        return 2
    command, args = argv[1], argv[2:]
    log(command)
    if fails(command):
        print(f"openclaw gateway {command}: simulated failure", file=sys.stderr)
        return 1
    if command == "run":
        return gateway_run()
    if command == "start":
        return gateway_start()
    if command == "stop":
        return gateway_stop(args)
    return gateway_status(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
