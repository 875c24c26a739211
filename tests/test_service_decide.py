"""The gateway lifecycle's pure parts, table-tested: the decision, the restart blockers, the
reading of ``openclaw gateway status`` (JSON and text, from outputs captured from the real
``openclaw@2026.9.6``), OpenClaw's identity rules, the records, and the exit code of ``snap``.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from snapkit.capture.service import (
    Decision,
    Detection,
    ServiceRecord,
    decide,
    identity_problem,
    parse_status,
    restart_blocker,
    status_says_running,
)
from snapkit.cli.snap_view import exit_code as _exit_code
from snapkit.format.errors import EXIT_GATEWAY_DOWN, EXIT_INCOMPLETE
from snapkit.format.model import Skipped, Snapshot
from snapkit.select.config import (
    DEFAULT_PROCESS_PATTERN,
    DEFAULT_SERVICE,
    ServicePolicy,
    load_config,
)

CAPTURED = Path(__file__).resolve().parent / "service_fake"


def captured(name: str) -> str:
    """An output of the real ``openclaw@2026.9.6 gateway status`` (HOME shown as /home/u)."""
    return (CAPTURED / f"openclaw-2026.9.6-{name}").read_text()


# --------------------------------------------------------------------------- decide()

SYSTEMD = {"status_kind": "json", "supervisor": "systemd"}
RUNNING = {"gateway_running": True, "gateway_pids": (4242,), **SYSTEMD}


def detection(**kw: Any) -> Detection:
    base: dict[str, Any] = {"gateway_running": False, "gateway_pids": (), "open_for_writing": (),
                            "live_databases": (), "command_available": True}
    base.update(kw)
    return Detection(**base)


SITUATIONS: dict[str, Detection] = {
    name: detection(**kw)
    for name, kw in dict[str, dict[str, Any]]({
        "not-running": {**SYSTEMD},
        "not-running-locked": {**SYSTEMD, "open_for_writing": ("/s/notes.txt",)},
        "idle": {**RUNNING},
        "db-only": {**RUNNING, "live_databases": ("/s/memory/main.sqlite",)},
        "writers": {**RUNNING, "open_for_writing": ("/s/a.jsonl", "/s/b.jsonl")},
        "writers+db": {**RUNNING, "open_for_writing": ("/s/a.jsonl",),
                       "live_databases": ("/s/memory/main.sqlite",)},
    }).items()
}

# policy, situation, platform -> (stop, text in reason, text in warning or None), for a gateway
# that a service manager runs (so snapkit can bring it back).
NEVER_WARN = {"writers": "a.jsonl", "writers+db": "a.jsonl"}
TABLE: list[tuple[str, str, str, bool, str, str | None]] = []
for _platform in ("linux", "darwin", "win32"):
    win = _platform == "win32"
    for _situation in SITUATIONS:
        nr_warn = "notes.txt" if _situation == "not-running-locked" else None
        if _situation.startswith("not-running"):
            for _policy in ("auto", "always", "never"):
                TABLE.append((_policy, _situation, _platform, False, "gateway not running",
                              nr_warn))
            continue
        auto_stop = _situation in ("writers", "writers+db") or (win and _situation == "db-only")
        auto_reason = {
            "idle": "no files open for writing",
            "db-only": "SQLite database held open" if win else "only live SQLite databases",
            "writers": "2 files" + (" are held open" if win else " open for writing"),
            "writers+db": "1 file" + (" is held open" if win else " open for writing"),
        }[_situation]
        TABLE.append(("auto", _situation, _platform, auto_stop, auto_reason, None))
        TABLE.append(("always", _situation, _platform, True, "policy always", None))
        never_warn = NEVER_WARN.get(_situation)
        if win and _situation == "db-only":
            never_warn = "main.sqlite"
        TABLE.append(("never", _situation, _platform, False, "policy never", never_warn))


@pytest.mark.parametrize(("policy", "situation", "platform", "stop", "reason", "warning"), TABLE,
                         ids=[f"{p}-{s}-{pl}" for p, s, pl, *_ in TABLE])
def test_decide_table(policy: ServicePolicy, situation: str, platform: str, stop: bool, reason: str,
                      warning: str | None) -> None:
    decision = decide(SITUATIONS[situation], policy, platform)
    assert isinstance(decision, Decision)
    assert decision.stop is stop
    assert reason in decision.reason
    if warning is None:
        assert decision.warning is None
    else:
        assert decision.warning is not None and warning in decision.warning
    if stop:
        assert decision.warning is None


OWN_START = replace(DEFAULT_SERVICE, start_command=("sh", "-c", "openclaw gateway run &"),
                    user_keys=frozenset({"start_command"}))
OWN_BOTH = replace(OWN_START, stop_command=("pkill", "-f", "openclaw-gateway"),
                   user_keys=frozenset({"start_command", "stop_command"}))
OWN_STOP = replace(DEFAULT_SERVICE, stop_command=("pkill", "-f", "openclaw-gateway"),
                   user_keys=frozenset({"stop_command"}))
FOREGROUND = {"gateway_running": True, "gateway_pids": (77,), "status_kind": "json",
              "supervisor": None, "open_for_writing": ("/s/a.jsonl",)}
NOT_HOME = "HOME (/tmp/h) is not this account's home (/home/u)"

# name, detection, service -> None (stops) or the text the blocker names. Policy `always`
# and `auto` (a file is open for writing) want a stop in every row.
BLOCKERS: list[tuple[str, dict[str, Any], Any, str | None]] = [
    ("systemd", {**FOREGROUND, "supervisor": "systemd"}, DEFAULT_SERVICE, None),
    ("launchd", {**FOREGROUND, "supervisor": "launchd"}, DEFAULT_SERVICE, None),
    ("foreground", FOREGROUND, DEFAULT_SERVICE, "no service manager runs it"),
    ("foreground-own-start", FOREGROUND, OWN_START, None),
    ("foreground-own-stop-only", FOREGROUND, OWN_STOP, "no service manager runs it"),
    ("text-status", {**FOREGROUND, "status_kind": "text"}, DEFAULT_SERVICE,
     "cannot tell whether a service manager runs it"),
    ("no-status", {**FOREGROUND, "status_kind": "none"}, DEFAULT_SERVICE,
     "cannot tell whether a service manager runs it"),
    ("text-status-own-start", {**FOREGROUND, "status_kind": "text"}, OWN_START, None),
    ("identity", {**FOREGROUND, "supervisor": "systemd", "identity_problem": NOT_HOME},
     DEFAULT_SERVICE, "OpenClaw refuses `openclaw gateway start` here: HOME (/tmp/h)"),
    ("identity-external", {**FOREGROUND, "supervisor": "systemd",
                           "identity_problem": "OPENCLAW_SUPERVISOR_MODE=external (x)"},
     DEFAULT_SERVICE, "OPENCLAW_SUPERVISOR_MODE=external"),
    ("identity-own-start", {**FOREGROUND, "identity_problem": NOT_HOME}, OWN_START,
     "OpenClaw refuses `openclaw gateway stop --force` here"),
    ("identity-own-both", {**FOREGROUND, "identity_problem": NOT_HOME}, OWN_BOTH, None),
    ("stop-not-on-path", {**FOREGROUND, "supervisor": "systemd", "command_available": False},
     DEFAULT_SERVICE, "`openclaw` not found on PATH"),
    ("start-not-on-path", {**FOREGROUND, "start_available": False}, OWN_START,
     "`sh` (service.start_command) not found on PATH"),
]


@pytest.mark.parametrize("policy", ["always", "auto"])
@pytest.mark.parametrize(("name", "kw", "service", "blocker"), BLOCKERS,
                         ids=[row[0] for row in BLOCKERS])
def test_stop_only_what_can_be_brought_back(policy: ServicePolicy, name: str, kw: dict[str, Any],
                                            service: Any, blocker: str | None) -> None:
    d = detection(**kw)
    found = restart_blocker(d, service)
    decision = decide(d, policy, "linux", service)
    if blocker is None:
        assert found is None
        assert decision.stop and decision.warning is None
        return
    assert found is not None and blocker in found
    assert not decision.stop
    wanted = ("policy always" if policy == "always"
              else "1 file open for writing while the gateway runs")
    assert decision.reason == f"not stopped ({wanted}): {found}"
    # One warning line: what was wanted, why not, and what the snapshot does instead.
    assert decision.warning is not None and "\n" not in decision.warning
    assert decision.warning.startswith(f"not stopping the OpenClaw gateway ({wanted}): ")
    assert blocker in decision.warning
    assert "taking the snapshot with it running: 1 file open for writing" in decision.warning


def test_blockers_do_not_matter_when_no_stop_is_wanted() -> None:
    d = detection(**{**FOREGROUND, "open_for_writing": (), "live_databases": ("/s/x.sqlite",)})
    assert decide(d, "auto", "linux") == Decision(
        False, "only live SQLite databases (copied through the online backup API)", None)
    assert decide(d, "never", "linux") == Decision(False, "policy never", None)


def test_decide_rejects_unknown_policy() -> None:
    with pytest.raises(ValueError, match="sometimes"):
        decide(SITUATIONS["idle"], cast(Any, "sometimes"), "linux")  # as from a bad caller


def test_decide_warning_shortens_long_lists() -> None:
    many = tuple(f"/s/f{i}.jsonl" for i in range(8))
    d = replace(SITUATIONS["writers"], open_for_writing=many)
    decision = decide(d, "never", "linux")
    assert decision.warning is not None
    assert "8 files" in decision.warning
    assert "/s/f4.jsonl and 3 more" in decision.warning
    assert "/s/f5.jsonl" not in decision.warning


# --------------------------------------------------------------------------- status


def _without_drift(text: str) -> str:
    """The same output on an install whose plugins match the gateway's version."""
    return "\n".join(line for line in text.splitlines()
                     if "drift" not in line and "affected plugin" not in line)


@pytest.mark.parametrize(("text", "expected"), [
    ("Gateway: running (pid 4242)", True),
    ("Service: systemd (enabled)\nRuntime: running (pid 12, state active)", True),
    ("Active: active (running) since Mon", True),
    ("active", True),
    ("Gateway: not running", False),
    ("Active: inactive (dead)", False),
    ("inactive", False),
    ("Gateway service disabled", False),
    ("Runtime: stopped", False),
    ("Service: LaunchAgent (not loaded)", False),
    ("Gateway service disabled.\nRuntime: running (pid 7, foreground)", True),
    # A line about something else says nothing about the gateway.
    ("Host desktop: disabled\nConnectivity probe: ok\nListening: 127.0.0.1:18789", True),
    ("Host desktop: disabled\nGateway: running (pid 7)", True),
    ("Host desktop: disabled", None),
    ("Plugin version drift: 1 active official plugin not on gateway 2026.9.6", None),
    ("Connectivity probe: failed", False),
    ("", None),
    ("openclaw 2026.9.1", None),
])
def test_status_says_running(text: str, expected: bool | None) -> None:
    assert status_says_running(text) is expected


@pytest.mark.parametrize("drift", [True, False], ids=["plugin-drift", "no-drift"])
def test_real_text_status_is_read_right(drift: bool) -> None:
    """The real 2026.9.6 text output: a running foreground gateway says "Host desktop:
    disabled" (read as down before), and "1 active official plugin" is no gateway state."""
    up, down = captured("status-foreground.txt"), captured("status-down.txt")
    if not drift:
        up, down = _without_drift(up), _without_drift(down)
    assert status_says_running(up) is True
    assert status_says_running(down) is False


def test_real_json_status_foreground_gateway() -> None:
    status = parse_status(captured("status-foreground.json"), DEFAULT_PROCESS_PATTERN)
    assert status.kind == "json"
    assert status.running is True
    assert status.supervisor is None  # service.loaded false: no service manager runs it
    assert status.pids == (24373,)  # the listener titled openclaw-gateway
    assert status.port == 49473
    assert "service-manager" not in status.summary
    assert status.summary == ("service: no supported service manager detected (not loaded, "
                              "runtime unknown); port 49473: busy (pid 24373); rpc: ok")


def test_real_json_status_no_gateway() -> None:
    status = parse_status(captured("status-down.json"), DEFAULT_PROCESS_PATTERN)
    assert (status.kind, status.running, status.supervisor, status.pids, status.port) == (
        "json", False, None, (), 49473)


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(captured("status-foreground.json"))
    for key, value in changes.items():
        doc[key] = value
    return doc


@pytest.mark.parametrize(("label", "name"), [("systemd", "systemd"), ("LaunchAgent", "launchd"),
                                             ("Scheduled Task", "schtasks")])
def test_json_status_service_manager(label: str, name: str) -> None:
    service = {"label": label, "loaded": True,
               "runtime": {"status": "running", "state": "active", "pid": 900}}
    status = parse_status(json.dumps(_doc(service=service)), DEFAULT_PROCESS_PATTERN)
    assert status.supervisor == name and status.running
    assert status.pids == (900, 24373)
    # Installed but not running: it is not what runs the gateway on the port.
    stopped = {**service, "runtime": {"status": "stopped"}}
    status = parse_status(json.dumps(_doc(service=stopped)), DEFAULT_PROCESS_PATTERN)
    assert status.supervisor is None and status.running and status.pids == (24373,)


def test_json_status_port_taken_by_something_else() -> None:
    port = {"port": 18789, "status": "busy",
            "listeners": [{"pid": 5, "commandLine": "python3 -m http.server 18789"}]}
    doc = _doc(port=port, rpc={"ok": False})
    status = parse_status(json.dumps(doc), DEFAULT_PROCESS_PATTERN)
    assert not status.running and status.pids == ()
    doc["rpc"] = {"ok": True}  # it answers the gateway protocol: it is the gateway
    status = parse_status(json.dumps(doc), DEFAULT_PROCESS_PATTERN)
    assert status.running and status.pids == (5,)


def test_json_status_after_a_warning_line() -> None:
    text = "[openclaw] warning: something\n" + captured("status-foreground.json")
    assert parse_status(text, DEFAULT_PROCESS_PATTERN).kind == "json"


# --------------------------------------------------------------------------- identity


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".openclaw").mkdir(parents=True)
    return home


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), "PATH": "/usr/bin", **extra}


IDENTITY: list[tuple[str, dict[str, str], str | None]] = [
    ("default", {}, None),
    ("state-dir-canonical", {"OPENCLAW_STATE_DIR": "{home}/.openclaw"}, None),
    ("state-dir-tilde", {"OPENCLAW_STATE_DIR": "~/.openclaw"}, None),
    ("state-dir-elsewhere", {"OPENCLAW_STATE_DIR": "{home}/other"},
     "the state dir {home}/other is not the canonical {home}/.openclaw"),
    ("openclaw-home", {"OPENCLAW_HOME": "{home}"}, "OPENCLAW_HOME is set"),
    ("external-supervisor", {"OPENCLAW_SUPERVISOR_MODE": "External"},
     "OPENCLAW_SUPERVISOR_MODE=external"),
    ("config-canonical", {"OPENCLAW_CONFIG_PATH": "{home}/.openclaw/openclaw.json"}, None),
    ("config-elsewhere", {"OPENCLAW_CONFIG_PATH": "{home}/oc.json"},
     "the config file {home}/oc.json is not the canonical {home}/.openclaw/openclaw.json"),
    ("profile-without-its-dir", {"OPENCLAW_PROFILE": "work"},
     "the state dir {home}/.openclaw is not the canonical {home}/.openclaw-work"),
    ("profile", {"OPENCLAW_PROFILE": "work", "OPENCLAW_STATE_DIR": "{home}/.openclaw-work",
                 "OPENCLAW_CONFIG_PATH": "{home}/.openclaw-work/openclaw.json"}, None),
    ("profile-default", {"OPENCLAW_PROFILE": "Default"}, None),
    ("profile-bad-name", {"OPENCLAW_PROFILE": "a/b"}, "is not a valid profile name"),
    ("profile-unit", {"OPENCLAW_PROFILE": "work", "OPENCLAW_SYSTEMD_UNIT": "mine",
                      "OPENCLAW_STATE_DIR": "{home}/.openclaw-work"},
     "OPENCLAW_SYSTEMD_UNIT=mine is not the profile's unit openclaw-gateway-work.service"),
]


@pytest.mark.parametrize(("name", "extra", "problem"), IDENTITY, ids=[r[0] for r in IDENTITY])
def test_identity_problem(home: Path, name: str, extra: dict[str, str],
                          problem: str | None) -> None:
    env = _env(home, **{k: v.format(home=home) for k, v in extra.items()})
    found = identity_problem(env, platform="linux", account=str(home))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem.format(home=home) in found


def test_identity_home_is_not_the_account_home(home: Path, tmp_path: Path) -> None:
    found = identity_problem(_env(home), platform="linux", account=str(tmp_path))
    assert found == f"HOME ({home}) is not this account's home ({tmp_path})"
    # Through a symlink it is the same directory, as OpenClaw compares real paths.
    link = tmp_path / "link"
    link.symlink_to(home)
    assert identity_problem(_env(link), platform="linux", account=str(home)) is None


def test_identity_legacy_state_dir(tmp_path: Path) -> None:
    home = tmp_path / "h"
    (home / ".clawdbot").mkdir(parents=True)
    found = identity_problem(_env(home), platform="linux", account=str(home))
    assert found == f"the state dir {home}/.clawdbot is not the canonical {home}/.openclaw"


def test_identity_profile_names_on_macos(home: Path) -> None:
    for profile, problem in (("Work", "is not lowercase"), ("gateway", "reserved LaunchAgent")):
        env = _env(home, OPENCLAW_PROFILE=profile)
        found = identity_problem(env, platform="darwin", account=str(home))
        assert found is not None and problem in found


def test_identity_of_this_process() -> None:
    found = identity_problem({**os.environ, "OPENCLAW_HOME": "/x"})
    assert found == "OPENCLAW_HOME is set"


# --------------------------------------------------------------------------- config, records


def test_user_set_ignores_the_defaults_written_by_config_init(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    defaults = {"service": {"stop_command": list(DEFAULT_SERVICE.stop_command),
                            "start_command": list(DEFAULT_SERVICE.start_command),
                            "status_command": list(DEFAULT_SERVICE.status_command),
                            "stop_timeout": 30, "start_timeout": 60}}
    path.write_text(json.dumps(defaults))
    service = load_config(path).config.service
    assert service == DEFAULT_SERVICE
    assert not service.user_set("start_command")
    path.write_text(json.dumps({"service": {"start_command": ["systemctl", "start", "oc"],
                                            "start_timeout": 5}}))
    service = load_config(path).config.service
    assert service.user_set("start_command") and not service.user_set("stop_command")
    assert service.start_timeout == 5.0 and service.user_set("start_timeout")


def test_records_to_dict_are_plain_data() -> None:
    d = SITUATIONS["writers+db"]
    as_dict = d.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["open_for_writing"] == ["/s/a.jsonl"]
    assert as_dict["supervisor"] == "systemd" and as_dict["status_kind"] == "json"
    record = ServiceRecord(policy="auto", detection=as_dict, decision="policy always",
                           stopped=True, restarted=True, warnings=["w"],
                           start_command=["openclaw", "gateway", "start"], restart_attempts=1)
    out = record.to_dict()
    assert json.loads(json.dumps(out)) == out
    assert out["stopped"] is True and out["errors"] == [] and out["warnings"] == ["w"]
    assert out["gateway_down"] is False and out["restart_attempts"] == 1
    down = ServiceRecord(policy="always", detection=as_dict, decision="policy always",
                         stopped=True, restarted=False)
    assert down.gateway_down and down.to_dict()["gateway_down"] is True


def _snapshot(service: dict[str, Any], skipped: tuple[Skipped, ...]) -> Snapshot:
    return Snapshot(time_ns=0, hostname="h", username="u", sources=("/s",), tree="0" * 32,
                    service=service, skipped=skipped)


def test_exit_code_of_snap() -> None:
    assert _exit_code(_snapshot({}, ())) == 0
    unreadable = (Skipped("/s/x", "unreadable", "Permission denied"),)
    assert _exit_code(_snapshot({}, unreadable)) == EXIT_INCOMPLETE
    down = {"stopped": True, "restarted": False, "gateway_down": True}
    assert _exit_code(_snapshot(down, ())) == EXIT_GATEWAY_DOWN
    # A gateway left down is the louder news: it wins over an incomplete snapshot.
    assert _exit_code(_snapshot(down, unreadable)) == EXIT_GATEWAY_DOWN == 4
