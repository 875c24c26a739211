"""``snapkit mount``'s refusals, each one line with its exit code, before anything is mounted:
a mount point that is missing, not a directory or not empty; FUSE not usable (no /dev/fuse,
no libfuse, the mfusepy binding not installed); the repository's own errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import Sleeper, cli_env, env_for, init_repo, invoke_main, plant_lock, run_snapkit

from snapkit.ops import mount as mount_op


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    init_repo(tmp_path / "repo")
    return env_for(tmp_path)


@pytest.mark.parametrize("make, says", [
    (lambda d: None, "does not exist; create it (mkdir) first"),
    (lambda d: d.write_text("x"), "is not a directory; give an empty directory"),
    (lambda d: (d.mkdir(), (d / "f").write_text("x")), "is not empty; give an empty directory"),
])
def test_a_mount_point_that_will_not_do(tmp_path: Path, env: dict[str, str], make: object,
                                        says: str) -> None:
    target = tmp_path / "mnt"
    make(target)  # type: ignore[operator]
    done = invoke_main(["mount", str(target)], env)
    assert done.code == 2
    assert done.stderr == f"snapkit: error: mount point {target} {says}\n"


def test_no_repository(tmp_path: Path) -> None:
    (tmp_path / "mnt").mkdir()
    done = invoke_main(["mount", str(tmp_path / "mnt")], env_for(tmp_path))
    assert done.code == 10 and "no repository at" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_an_exclusive_lock_holder_is_named(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "mnt").mkdir()
    holder = Sleeper()
    try:
        plant_lock(tmp_path / "repo", holder.pid, exclusive=True)
        done = invoke_main(["mount", str(tmp_path / "mnt")], env)
    finally:
        holder.stop()
    assert done.code == 11 and "prune" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_no_dev_fuse(tmp_path: Path, env: dict[str, str],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mnt").mkdir()
    monkeypatch.setattr(mount_op, "FUSE_DEVICE", tmp_path / "no-such-device")
    done = invoke_main(["--json", "mount", str(tmp_path / "mnt")], env)
    assert done.code == 1
    assert "FUSE is not available here: no" in done.stderr and "modprobe fuse" in done.stderr
    assert done.stderr.startswith('{"event": "error"')


def test_the_binding_not_installed(tmp_path: Path) -> None:
    """As where mfusepy is not installed: its import fails (``sys.modules[name] = None``)."""
    (tmp_path / "mnt").mkdir()
    environ = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert run_snapkit(["init"], environ).returncode == 0
    code = ("import sys; sys.modules['mfusepy'] = None; from snapkit.cli.main import main; "
            "sys.argv[0] = 'snapkit'; main()")
    done = subprocess.run([sys.executable, "-c", code, "mount", str(tmp_path / "mnt")],
                          env=environ, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr == ("snapkit: error: `snapkit mount` needs the FUSE binding mfusepy: "
                           "pip install 'snapkit[mount]'\n")


def test_no_libfuse(tmp_path: Path) -> None:
    """mfusepy loads the library $FUSE_LIBRARY_PATH names: one that is not there."""
    pytest.importorskip("mfusepy", reason="the mfusepy binding is not installed")
    (tmp_path / "mnt").mkdir()
    environ = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"),
                      FUSE_LIBRARY_PATH=str(tmp_path / "libfuse.so.2"))
    assert run_snapkit(["init"], environ).returncode == 0
    done = run_snapkit(["mount", str(tmp_path / "mnt")], environ)
    assert done.returncode == 1
    assert done.stderr.startswith("snapkit: error: FUSE is not available here: libfuse is "
                                  "not installed")
    assert "apt install fuse3" in done.stderr and len(done.stderr.splitlines()) == 1
