"""``snapkit schedule install|status|remove`` through the CLI, with HOME and the XDG dirs in a
temporary directory, and a run of the exact command the installed unit holds.

systemd: the real ``systemctl``, with no user manager reachable (the session bus and runtime
dir point into the temporary directory), which is the path this machine can take for real:
`install` refuses, and with --write-only the units are written, nothing claims to be enabled,
and the command to enable them is given. The job's ``ExecStart`` is then parsed and run as a
subprocess, with the small environment a systemd user manager gives, against a real
repository and source tree. cron: this user's real crontab, saved and restored exactly.
What this machine does not have is in ``test_schedule_stand_ins``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import invoke_main, make_tree
from schedule_helpers import exec_start, run_job, sched_env, snapshots, status_json, units

from snapkit.ops.schedule import systemd
from snapkit.ops.schedule.base import MARKER, running_cron_daemon
from snapkit.ops.schedule.record import RunRecord, write_record

# --------------------------------------------------------------------------- systemd


def test_install_print_shows_the_units_and_writes_nothing(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    src = str(make_tree(tmp_path / "src", {"a.txt": b"a\n"}))
    result = invoke_main(["schedule", "install", "--print", "--at", "04:15", src], env)
    assert result.code == 0, result.stderr
    assert "OnCalendar=*-*-* 04:15:00" in result.text and "ExecStart=" in result.text
    assert "systemctl --user enable --now snapkit-snap.timer" in result.text
    assert not any(p.exists() for p in units(tmp_path))
    as_json = json.loads(invoke_main(["schedule", "install", "--dry-run", "--json", src],
                                     env).text)
    assert as_json["dry_run"] is True and len(as_json["files"]) == 2


def test_install_run_status_remove(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    src = make_tree(tmp_path / "src", {"a.txt": b"one\n", "d/b.json": b"{}\n"})
    manual = invoke_main(["snap", str(src), "-q"], env)  # by hand: never forgotten by the job
    assert manual.code == 0, manual.stderr
    result = invoke_main(["schedule", "install", "--at", "04:15", "--forget", "--keep-last",
                          "1", str(src), "--json", "--write-only"], env)
    assert result.code == 0, result.stderr
    done = json.loads(result.text)
    # No user systemd is reachable here: written (--write-only), never reported enabled, the
    # command given — in a JSON warning event, the only thing on stderr.
    assert done["enabled"] is False and done["next_run"] is None
    assert done["to_run"] == [systemd.ENABLE_TEXT]
    [warning] = [json.loads(line) for line in result.stderr.splitlines()]
    assert warning["event"] == "warning"
    assert "NOT enabled" in warning["message"] and systemd.ENABLE_TEXT in warning["message"]
    assert done["files"] == [str(p) for p in units(tmp_path)]
    assert all(MARKER in p.read_text() for p in units(tmp_path))
    argv = exec_start(tmp_path)
    assert done["command"] == argv
    assert argv[-1] == str(src) and "--keep-last=1" in argv and "--forget" in argv
    assert ["--repo", str(tmp_path / "repo")] == argv[argv.index("--repo"):][:2]

    before = status_json(env)
    assert before["last_run"] is None
    [installed] = before["installed"]
    assert installed["scheduler"] == "systemd" and installed["command"] == argv
    assert installed["enabled"] is None and "no user systemd reachable" in installed["state"]
    assert installed["schedule"]["text"] == "daily at 04:15"
    assert installed["next_run"] is None  # systemd cannot be asked: no next run claimed

    ran = run_job(argv, tmp_path)
    assert ran.returncode == 0, ran.stderr
    first = status_json(env)["last_run"]
    assert (first["state"], first["result"], first["exit_code"]) == ("finished", "ok", 0)
    listed = snapshots(env)
    by_id = {s["id"]: s for s in listed}
    assert first["snapshot_id"] in by_id and "scheduled" in by_id[first["snapshot_id"]]["tags"]
    assert first["forgotten"] == 0

    (src / "a.txt").write_text("two\n")
    ran = run_job(argv, tmp_path)
    assert ran.returncode == 0, ran.stderr
    second = status_json(env)["last_run"]
    assert second["forgotten"] == 1 and second["snapshot_id"] != first["snapshot_id"]
    ids = {s["id"] for s in snapshots(env)}
    assert ids == {second["snapshot_id"], *(set(by_id) - {first["snapshot_id"]})}
    assert len(ids) == 2  # the one taken by hand, and the newest scheduled one

    text = invoke_main(["schedule", "status"], env)
    assert text.code == 0
    assert f"snapshot {second['snapshot_id'][:8]}" in text.text
    assert "ok (exit 0)" in text.text and "journalctl --user -u snapkit-snap" in text.text

    gone = invoke_main(["schedule", "remove"], env)
    assert gone.code == 0, gone.stderr
    assert not any(p.exists() for p in units(tmp_path))
    after = invoke_main(["schedule", "status"], env)
    assert "No snapkit schedule is installed" in after.text
    assert "ok (exit 0)" in after.text  # the record of the last run stays


def test_a_failed_run_is_recorded_with_its_exit_code(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    (tmp_path / "not-a-repo").write_text("a file where the repository should be\n")
    src = make_tree(tmp_path / "src", {"a.txt": b"a\n"})
    assert invoke_main(["schedule", "install", "--write-only", "--repo",
                        str(tmp_path / "not-a-repo"), str(src)], env).code == 0
    ran = run_job(exec_start(tmp_path), tmp_path)
    assert ran.returncode not in (0, 3, 4)
    last = status_json(env)["last_run"]
    assert (last["result"], last["exit_code"]) == ("failed", ran.returncode)
    assert last["message"] and last["message"] in ran.stderr
    assert last["snapshot_id"] is None
    text = invoke_main(["schedule", "status"], env).text
    assert f"failed (exit {ran.returncode})" in text


def test_a_run_that_was_killed_is_not_reported_as_running(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    gone = subprocess.run(["true"], check=True)  # a process id that has ended
    pid = subprocess.Popen(["true"])
    pid.wait()
    path = tmp_path / "xdg-state" / "snapkit" / "schedule-status.json"
    write_record(path, RunRecord("running", 1_700_000_000_000_000_000, pid.pid, "h"))
    assert gone.returncode == 0
    text = invoke_main(["schedule", "status"], env)
    assert "did not finish" in text.text
    assert status_json(env)["last_run"]["process_alive"] is False
    write_record(path, RunRecord("running", 1_700_000_000_000_000_000, os.getpid(), "h"))
    assert "running since" in invoke_main(["schedule", "status"], env).text


def test_remove_leaves_a_unit_it_did_not_write(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    service, timer = units(tmp_path)
    service.parent.mkdir(parents=True)
    timer.write_text("[Timer]\nOnCalendar=daily\n")  # the user's own, no marker
    result = invoke_main(["schedule", "remove"], env)
    assert result.code == 0
    assert timer.exists() and "not written by snapkit" in result.text


def test_a_scheduler_that_cannot_run_the_job_is_refused(tmp_path: Path) -> None:
    """No user systemd answers here and (on the test's PATH) there is no crontab: `install`
    refuses in one line (exit 2) and writes nothing; `--scheduler launchd` on Linux too.
    With --write-only the plist is written, and `status` and `remove` without --scheduler
    find it (no next run claimed)."""
    env = sched_env(tmp_path)
    src = str(make_tree(tmp_path / "src", {"a.txt": b"a\n"}))
    plist = tmp_path / "Library" / "LaunchAgents" / "org.snapkit.snap.plist"
    auto = invoke_main(["schedule", "install", src], env)
    assert auto.code == 2 and len(auto.stderr.strip().splitlines()) == 1
    assert "no scheduler can run the job here (systemd: no user systemd answers" in auto.stderr
    assert "cron: cron is not installed" in auto.stderr and "--write-only" in auto.stderr
    launchd = invoke_main(["schedule", "install", "--scheduler", "launchd", src], env)
    assert launchd.code == 2 and "--scheduler launchd cannot run the job here" in \
        launchd.stderr
    assert not plist.exists() and not any(p.exists() for p in units(tmp_path))

    written = invoke_main(["schedule", "install", "--scheduler", "launchd", "--write-only",
                           src], env)
    assert written.code == 0, written.stderr
    assert "Enabled:    NO" in written.text and "Next run:   none" in written.text
    assert "launchctl bootstrap" in written.stderr and plist.exists()
    shown = invoke_main(["schedule", "status"], env)
    assert "Scheduler:  launchd (not loaded" in shown.text
    assert "Next run:   none: the job is not enabled" in shown.text
    [found] = status_json(env)["installed"]
    assert (found["scheduler"], found["enabled"], found["next_run"]) == ("launchd", False, None)
    gone = invoke_main(["schedule", "remove"], env)
    assert gone.code == 0 and f"Removed (launchd): {plist}" in gone.text
    assert not plist.exists()


def test_install_quiet_and_json_warnings(tmp_path: Path) -> None:
    """-q prints nothing but the warning that the job is not enabled; under --json that
    warning is a JSON event, like every line on stderr."""
    env = sched_env(tmp_path)
    src = str(make_tree(tmp_path / "src", {"a.txt": b"a\n"}))
    quiet = invoke_main(["schedule", "install", "-q", "--write-only", src], env)
    assert quiet.code == 0 and quiet.text == ""
    assert quiet.stderr.startswith("snapkit: warning: the systemd job is written but NOT "
                                   "enabled")
    as_json = invoke_main(["schedule", "install", "--json", "--write-only", src], env)
    assert as_json.code == 0
    events = [json.loads(line) for line in as_json.stderr.splitlines()]
    assert [e["event"] for e in events] == ["warning"]
    refused = invoke_main(["schedule", "install", "--json", src], env)
    assert refused.code == 2 and json.loads(refused.stderr)["exit_code"] == 2
    assert invoke_main(["schedule", "remove", "-q"], env).text == ""


@pytest.mark.parametrize("damage", ["garbage", "directory"])
def test_status_shows_the_job_when_the_run_record_is_damaged(tmp_path: Path,
                                                             damage: str) -> None:
    env = sched_env(tmp_path)
    src = str(make_tree(tmp_path / "src", {"a.txt": b"a\n"}))
    assert invoke_main(["schedule", "install", "--write-only", src], env).code == 0
    record = tmp_path / "xdg-state" / "snapkit" / "schedule-status.json"
    if damage == "garbage":
        record.write_text("{garbage")
    else:
        record.mkdir()
    shown = invoke_main(["schedule", "status"], env)
    assert shown.code == 0, shown.stderr
    assert "Scheduler:  systemd" in shown.text and f"Last run:   unknown: the run record " \
        f"{record}" in shown.text
    assert ("is damaged" if damage == "garbage" else "Is a directory") in shown.text
    data = status_json(env)
    assert data["installed"] and data["last_run"] is None
    assert str(record) in data["last_run_error"]


def test_a_repository_url_with_credentials_is_refused(tmp_path: Path) -> None:
    env = sched_env(tmp_path)
    result = invoke_main(["schedule", "install", "--repo",
                          "s3:https://AKIA:secret@s3.example.com/bucket/snapkit"], env)
    assert result.code == 2
    assert "credentials" in result.stderr and "secret" not in result.stderr
    assert not any(p.exists() for p in units(tmp_path))


def test_an_s3_job_with_the_shells_keys_only_is_warned_about(tmp_path: Path) -> None:
    """The job does not get this shell's AWS_* keys: without ~/.aws/credentials every run
    would stop with exit 10, so install says so (and installs: an instance role may serve)."""
    src = str(make_tree(tmp_path / "src", {"a.txt": b"a\n"}))
    env = {**sched_env(tmp_path), "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "not-a-real-secret"}
    args = ["schedule", "install", "--scheduler", "systemd", "--write-only", "--repo",
            "s3:http://127.0.0.1:9/bucket/snapkit", src]
    result = invoke_main(args, env)
    assert result.code == 0, result.stderr
    shared = tmp_path / ".aws" / "credentials"
    assert (f"snapkit: warning: the S3 keys of this shell (AWS_ACCESS_KEY_ID) are not carried "
            f"into the job, and there is no {shared}") in result.stderr
    assert "not-a-real-secret" not in units(tmp_path)[0].read_text()
    shared.parent.mkdir()
    shared.write_text("[default]\naws_access_key_id = AKIAEXAMPLE\n")
    again = invoke_main(args, env)
    assert again.code == 0 and "S3 keys" not in again.stderr


def test_install_refuses_a_job_whose_snapshot_would_fail(tmp_path: Path) -> None:
    env = sched_env(tmp_path)  # OPENCLAW_STATE_DIR names a directory that is not there
    result = invoke_main(["schedule", "install"], env)
    assert result.code == 2 and "OpenClaw state dir" in result.stderr
    assert "`snapkit schedule install ~/projects`" in result.stderr  # not `snapkit snap`
    assert invoke_main(["schedule", "install", "--print"], env).stderr == result.stderr
    missing = invoke_main(["schedule", "install", str(tmp_path / "nowhere")], env)
    assert missing.code == 2 and "does not exist" in missing.stderr
    src = str(make_tree(tmp_path / "src", {"a.txt": b"a\n"}))
    mode = invoke_main(["schedule", "install", "--mode", "nosuch", src], env)
    assert mode.code == 2 and "unknown mode" in mode.stderr
    assert not any(p.exists() for p in units(tmp_path))


def test_forget_without_keep_options_uses_the_configs_retention(tmp_path: Path) -> None:
    """No --keep-*: the job runs `--forget` alone and the run applies the config's
    "retention" (read at each run); without one, install refuses, and a run whose config lost
    it records the failure before taking a snapshot."""
    env = sched_env(tmp_path)
    src = make_tree(tmp_path / "src", {"a.txt": b"one\n"})
    refused = invoke_main(["schedule", "install", "--forget", str(src)], env)
    assert refused.code == 2 and '"retention"' in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not any(p.exists() for p in units(tmp_path))

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"retention": {"keep_last": 1}}))
    result = invoke_main(["schedule", "install", "--write-only", "--config", str(cfg),
                          "--forget", str(src)], env)
    assert result.code == 0, result.stderr
    argv = exec_start(tmp_path)
    assert "--forget" in argv and not any(a.startswith("--keep-") for a in argv)
    assert argv[argv.index("--config") + 1] == str(cfg)
    for text in ("one\n", "two\n"):
        (src / "a.txt").write_text(text)
        ran = run_job(argv, tmp_path)
        assert ran.returncode == 0, ran.stderr
    last = status_json(env)["last_run"]
    assert last["forgotten"] == 1 and [s["id"] for s in snapshots(env)] == [
        last["snapshot_id"]]

    cfg.write_text(json.dumps({"retention": None}))
    ran = run_job(argv, tmp_path)
    assert ran.returncode == 2 and '"retention"' in ran.stderr
    failed = status_json(env)["last_run"]
    assert (failed["result"], failed["exit_code"]) == ("failed", 2)
    assert failed["snapshot_id"] is None and len(snapshots(env)) == 1  # no snapshot taken


def test_keep_options_need_forget(tmp_path: Path) -> None:
    result = invoke_main(["schedule", "install", "--keep-daily", "7"], sched_env(tmp_path))
    assert result.code == 2 and "--forget" in result.stderr


@pytest.mark.parametrize("sub", ["install", "status", "remove"])
def test_each_subcommand_has_help(sub: str, tmp_path: Path) -> None:
    result = invoke_main(["schedule", sub, "--help"], sched_env(tmp_path))
    assert result.code == 0 and f"Usage: snapkit schedule {sub}" in result.text
    listing = invoke_main(["schedule", "--help"], sched_env(tmp_path)).text
    commands = listing.split("Commands:")[1].split()
    assert "install" in commands and "run" not in commands  # the job's own one is hidden


# --------------------------------------------------------------------------- cron, for real


def test_cron_with_the_real_crontab(tmp_path: Path) -> None:
    """Installs into this user's real crontab (its other lines kept), runs the installed line's
    command as cron would (``/bin/sh``, a small environment) against a real repository, then
    removes it: the crontab is as it was (or absent, as it was)."""
    if shutil.which("crontab") is None:
        pytest.skip("no crontab binary on this machine (cron is not installed); the cron "
                    "path is tested with a stand-in below")
    env = {**sched_env(tmp_path), "PATH": os.environ["PATH"]}
    before = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    original = before.stdout if before.returncode == 0 else ""
    if MARKER in original:
        pytest.skip("this user's real crontab holds a snapkit schedule: left alone")
    try:
        src = make_tree(tmp_path / "src", {"a.txt": b"a\n"})
        args = ["schedule", "install", "--scheduler", "cron", "--hourly", str(src)]
        if running_cron_daemon() is None:  # (none runs on this machine): refused, then written
            refused = invoke_main(args, env)
            assert refused.code == 2 and "no cron daemon is running" in refused.stderr
            assert subprocess.run(["crontab", "-l"], capture_output=True, text=True,
                                  check=False).stdout == before.stdout
            args.append("--write-only")
        result = invoke_main(args, env)
        assert result.code == 0, result.stderr
        now = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=True)
        assert now.stdout.startswith(original) and MARKER in now.stdout
        [found] = status_json(env)["installed"]
        assert found["scheduler"] == "cron" and found["schedule"]["kind"] == "hourly"
        assert found["enabled"] is (running_cron_daemon() is not None)
        assert (found["next_run"] is None) is (not found["enabled"])
        # The line's command, as cron runs it: /bin/sh, a small environment, from HOME.
        [line] = [x for x in now.stdout.splitlines() if x.endswith(f"# {MARKER}")]
        ran = subprocess.run(["/bin/sh", "-c", line.split(None, 5)[5]], cwd=tmp_path,
                             env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
                                  "SHELL": "/bin/sh"}, timeout=120, check=False)
        assert ran.returncode == 0
        last = status_json(env)["last_run"]
        assert (last["result"], last["exit_code"]) == ("ok", 0) and last["snapshot_id"]
        log = (tmp_path / "xdg-state" / "snapkit" / "schedule.log").read_text()
        assert f"Snapshot {last['snapshot_id'][:8]} saved" in log
        assert invoke_main(["schedule", "remove", "--scheduler", "cron"], env).code == 0
        after = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
        assert (after.returncode, after.stdout) == (before.returncode, before.stdout)
    finally:  # whatever happened, the crontab as it was
        now = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
        if (now.returncode, now.stdout) != (before.returncode, before.stdout):
            subprocess.run(["crontab", "-"] if before.returncode == 0 else ["crontab", "-r"],
                           input=original, text=True, check=False)
