"""Shared fixtures. The declarative tree helpers live in ``tests/helpers.py``."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import helpers` from any subdir
# The local cache of every snap the tests run (in process, or in a subprocess given this
# environment) goes to a folder of the run's own, never the user's ~/.cache.
os.environ.setdefault("SNAPKIT_CACHE_DIR", tempfile.mkdtemp(prefix="snapkit-test-cache-"))

import encrypted_mode
from helpers import close_sockets, init_repo, other_filesystem
from openclaw_real import RealInstall, onboard
from s3server import S3Server, running

from snapkit.store.repository import Repository

encrypted_mode.install()


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    """A new, empty repository at ``tmp_path / "repo"``."""
    yield init_repo(tmp_path / "repo")
    close_sockets()


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[Path]:
    """A new folder on another filesystem than ``tmp_path`` (helpers.other_filesystem),
    removed afterwards; the test is skipped where there is none."""
    path = other_filesystem(tmp_path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 server: the one $SNAPKIT_TEST_S3_ENDPOINT names (CI starts it), else
    `rclone serve s3` on loopback for this session; skipped when neither is available."""
    with running(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="session")
def real_openclaw(tmp_path_factory: pytest.TempPathFactory) -> RealInstall:
    """One install made by the real ``openclaw onboard`` for the whole session, with a second
    agent ``work`` whose workspace lies outside the state dir (``~/work-ws``). Tests must not
    change it; a test that does (a gateway run writes caches) onboards its own."""
    home = tmp_path_factory.mktemp("openclaw") / "home"
    return onboard(home, agents=[("work", home / "work-ws")])
