"""An export to a pipe stopped by SIGTERM or Ctrl-C while its reader is stalled, the reader
then going away: every format ends at once — exit 130, one line, the repository's lock
released — and the stream is not ended as a complete archive would be (ISA-L's threaded
gzip writer once waited there forever for blocks nobody would write, holding the lock)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import cli_env, make_tree, run_snapkit


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.zst", "tar"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_export_stopped_into_a_stalled_pipe_ends(tmp_path: Path, fmt: str, sig: int) -> None:
    rng = random.Random(7)
    src = make_tree(tmp_path / "src", {f"f{i}.bin": rng.randbytes(1024 * 1024) + b"x" * 2**20
                                       for i in range(24)})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["snap", "-q", str(src)], env).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "snapkit", "export", "latest", "--format",
                             fmt, "-o", "-"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(1)  # running; the pipe fills up behind this read
    time.sleep(0.7)
    proc.send_signal(sig)
    time.sleep(0.5)
    proc.stdout.read(100)
    proc.stdout.close()  # the reader goes away
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"export --format {fmt} hung after {sig!r}")
    err = proc.stderr.read().decode()
    assert code == 130, err
    assert err.count("\n") == 1 and err.startswith(("snapkit: interrupted",
                                                    "snapkit: terminated")), err
    assert not list((tmp_path / "repo" / "locks").iterdir())
    assert os.path.isdir(tmp_path / "repo")
