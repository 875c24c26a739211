"""``snapkit.cli.entry``: the process exits without the interpreter's teardown once a command
has ended — with the command's exit code, its output flushed whole into a pipe, the atexit
handlers run, and quietly when the reader of its output went away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from helpers import cli_env, make_tree, run_snapkit


def test_exit_codes_and_whole_output_through_a_pipe(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {f"d{i}/f{j}.txt": b"x" for i in range(30)
                                       for j in range(30)})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    listing = run_snapkit(["ls", "-R", "--json", "latest"], env)  # more than a pipe holds
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout) > 65536
    lines = [json.loads(line) for line in listing.stdout.splitlines()]  # none cut
    assert sum(e["type"] == "file" for e in lines) == 900
    missing = run_snapkit(["snapshots"], cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "no")))
    assert missing.returncode == 10 and missing.stderr.count("\n") == 1, missing.stderr
    usage = run_snapkit(["snapshots", "--no-such-option"], env)
    assert usage.returncode == 2 and "--no-such-option" in usage.stderr


def test_a_closed_pipe_after_the_command_is_quiet(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {f"f{j:04d}.txt": b"x" for j in range(3000)})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "snapkit", "ls", "-R", "latest"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1 and b"Traceback" not in err and b"ignored" not in err, err


def test_atexit_handlers_and_other_threads_finish_before_the_exit(tmp_path: Path) -> None:
    """What the teardown did that matters still happens: a registered atexit handler runs, a
    thread still writing is joined (its output complete), then the exit code is the
    command's."""
    script = textwrap.dedent(f"""
        import atexit, sys, threading, time
        from snapkit.cli import entry

        def later():
            time.sleep(0.3)
            open({str(tmp_path / "thread")!r}, "w").write("joined")

        threading.Thread(target=later).start()
        atexit.register(lambda: open({str(tmp_path / "atexit")!r}, "w").write("ran"))
        sys.stdout.write("buffered" * 10000)
        entry._exit(7)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == "buffered" * 10000
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_closed_standard_streams_keep_the_exit_code(tmp_path: Path) -> None:
    """Started with stdout or stderr closed (``>&-``, ``2>&-``): no traceback, the command's
    own exit code."""
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["init", "-q"], env).returncode == 0

    def run(args: list[str], close: int) -> subprocess.CompletedProcess[bytes]:
        keep = {1: subprocess.DEVNULL, 2: subprocess.PIPE}
        return subprocess.run([sys.executable, "-m", "snapkit", *args], env=env,
                              stdout=keep[1] if close != 1 else None,
                              stderr=keep[2] if close != 2 else subprocess.DEVNULL,
                              pass_fds=(), close_fds=True, timeout=60,
                              preexec_fn=lambda: os.close(close))

    assert run(["snapshots"], 2).returncode == 0
    assert run(["nosuch"], 2).returncode == 2
    assert run(["snapshots", "--repo", str(tmp_path / "none")], 2).returncode == 10
    closed_out = run(["snapshots"], 1)
    assert closed_out.returncode == 0 and b"Traceback" not in (closed_out.stderr or b"")
    helped = run(["--help"], 1)
    assert helped.returncode == 1 and b"cannot write the help" in (helped.stderr or b"")


def test_an_interrupt_under_json_is_one_json_line(tmp_path: Path) -> None:
    """Ctrl-C while a command writes into a pipe nobody reads: exit 130 and, under --json, one
    JSON line on stderr (no blank line before it)."""
    src = make_tree(tmp_path / "src", {f"f{j:05d}.txt": b"x" for j in range(20000)})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "snapkit", "ls", "-R", "--json", "latest"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(1)  # it runs, and blocks once the pipe is full
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 130, err
    assert err.count("\n") == 1 and not err.startswith("\n"), repr(err)
    assert json.loads(err)["exit_code"] == 130
    proc.stdout.close()
