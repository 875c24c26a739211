"""A throwaway OS account to run the real OpenClaw — and snapkit — as the account's own user.

OpenClaw's ``gateway stop|start`` act only for the account's default identity: ``HOME`` must be
the account's home in the passwd database (see ``snapkit/capture/service/identity.py``). A test that
runs OpenClaw under a temporary ``HOME`` is therefore always a "non-default identity"; to test
the default one, :func:`throwaway_account` creates a real account with ``useradd`` (root only;
the tests skip otherwise) whose home is a fresh temporary directory, and removes it with
``userdel`` afterwards, killing whatever that account still runs.

The account must be able to run node, OpenClaw and Python. Where the installed toolchains lie
somewhere it cannot reach (``/root`` is ``0700``), they are hard-linked (``cp -al``: no copy,
under a second) into the account's temporary directory; across filesystems, the test skips
with the reason. Pytest's own temporary directories are ``0700`` (pytest enforces that on every
session), so the account's home lives in a ``mkdtemp`` directory of its own beside them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path
    #: PATH prefix with node 24 and openclaw, runnable by the account.
    openclaw_prefix: str
    #: A Python interpreter the account can run, and the PYTHONPATH that finds snapkit and its
    #: dependencies with it.
    python: str
    pythonpath: str

    @property
    def user(self) -> tuple[int, int]:
        return (self.uid, self.gid)

    def subprocess_kw(self) -> dict[str, object]:
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "cwd": self.home}

    def processes(self) -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter(["uids"]):
            uids = proc.info.get("uids")
            if uids is not None and self.uid in (uids.real, uids.effective):
                found.append(proc)
        return found


def _can_run(uid: int, gid: int, path: str) -> bool:
    result = subprocess.run(["test", "-x", path], user=uid, group=gid, extra_groups=[],
                            check=False, cwd="/")
    return result.returncode == 0


def _reachable(uid: int, gid: int, paths: Sequence[str], base: Path) -> list[str]:
    """``paths`` (files or dirs the account must reach), hard-linked below ``base`` when the
    account cannot reach them where they are. Paths with a common parent keep it in common."""
    if all(_can_run(uid, gid, p) for p in paths):
        return list(paths)
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    common = Path(os.path.commonpath(paths)) if len(paths) > 1 else Path(paths[0]).parent
    linked: dict[str, Path] = {}
    out = []
    for path in paths:
        rel = Path(path).relative_to(common)
        top = rel.parts[0]
        if top not in linked:
            target = base / f"{len(linked)}-{top}"
            result = subprocess.run(["cp", "-al", str(common / top), str(target)],
                                    capture_output=True, text=True, check=False)
            if result.returncode != 0:
                pytest.skip(f"cannot hard-link {common / top} for the test account: "
                            f"{result.stderr.strip()}")
            linked[top] = target
        out.append(str(linked[top].joinpath(*rel.parts[1:])))
    return out


@contextmanager
def throwaway_account(openclaw_prefix: str) -> Iterator[Account]:
    """A new account whose home is a fresh temporary directory (see the module docstring)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root: creates a throwaway account with useradd")
    for tool in ("useradd", "userdel", "cp"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs `{tool}` to create a throwaway account")
    base = Path(tempfile.mkdtemp(prefix="snapkit-account-"))
    base.chmod(0o755)
    name = f"snapkit-{uuid.uuid4().hex[:12]}"
    home = base / "home"
    created = subprocess.run(["useradd", "--home-dir", str(home), "--create-home",
                              "--shell", "/bin/sh", "--user-group", name],
                             capture_output=True, text=True, check=False)
    if created.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"useradd failed: {created.stderr.strip()}")
    entry = pwd.getpwnam(name)
    try:
        tools = base / "toolchain"
        prefix_dirs = [p for p in openclaw_prefix.split(os.pathsep) if p]
        prefix = os.pathsep.join(_reachable(entry.pw_uid, entry.pw_gid, prefix_dirs, tools))
        # The interpreter's whole installation (it finds its stdlib next to itself), and the
        # site-packages of the test environment (snapkit's dependencies).
        exe = Path(os.path.realpath(sys.executable)).relative_to(sys.base_prefix)
        (python_root,) = _reachable(entry.pw_uid, entry.pw_gid, [sys.base_prefix], tools / "py")
        site = _reachable(entry.pw_uid, entry.pw_gid, [sysconfig.get_paths()["purelib"]],
                          tools / "site")
        yield Account(name=name, uid=entry.pw_uid, gid=entry.pw_gid, home=home,
                      openclaw_prefix=prefix, python=str(Path(python_root) / exe),
                      pythonpath=os.pathsep.join([str(REPO_ROOT), *site]))
    finally:
        _kill_all(entry.pw_uid)
        subprocess.run(["userdel", name], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def _kill_all(uid: int) -> None:
    """Kill every process the throwaway account still runs."""
    for _ in range(3):
        victims = [p for p in psutil.process_iter(["uids"])
                   if p.info.get("uids") is not None and uid in (p.info["uids"].real,
                                                                 p.info["uids"].effective)]
        if not victims:
            return
        for proc in victims:
            with suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(victims, timeout=5)
        time.sleep(0.1)
