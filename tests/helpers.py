"""Declarative test trees and the helpers every integration test shares.

In the style of restic's ``archiver/testing.go``: describe a tree as a mapping from relative
POSIX paths to entries, create it with :func:`make_tree`, and compare two real trees with
:func:`assert_trees_equal` (content, type, mode, mtime in ns, symlink targets).

    make_tree(root, {
        "a/b.txt": b"hello",                      # a file (parent dirs created 0755)
        "d/": Dir(mode=0o700),                     # a directory (trailing slash optional)
        "x.sh": File(b"#!/bin/sh\n", mode=0o755, mtime_ns=1),
        "l": Symlink("a/b.txt"),
        b"\xff\xfe": b"odd name",                 # bytes keys for names that are not UTF-8
        "pipe": Fifo(),
    })

Keys may be ``str`` or ``bytes``. Modes and mtimes are applied after every entry exists,
directories deepest first, so a later child does not disturb a parent's mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from encrypted_mode import PASSPHRASE

from snapkit.capture.chunker import Chunker
from snapkit.capture.file import CaptureFile, capture_file
from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.cli import common
from snapkit.cli.export_view import PLAIN_ARCHIVE_NOTE
from snapkit.cli.main import main
from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.format.model import encode_lock
from snapkit.maintain.check import check_repository
from snapkit.maintain.selection import find_parent
from snapkit.ops import passphrase as passphrase_module
from snapkit.read.restore import RestoreOptions, RestoreResult, restore_snapshot
from snapkit.store.cipher import Sealed
from snapkit.store.keys import add_key, sealed_config
from snapkit.store.local_cache import cache_root
from snapkit.store.repository import Repository

REPO_ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# --------------------------------------------------------------------------- tree entries


@dataclass(frozen=True)
class File:
    content: bytes = b""
    mode: int = 0o644
    mtime_ns: int | None = None


@dataclass(frozen=True)
class Dir:
    mode: int = 0o755
    mtime_ns: int | None = None


@dataclass(frozen=True)
class Symlink:
    target: str | bytes


@dataclass(frozen=True)
class Fifo:
    mode: int = 0o644


@dataclass(frozen=True)
class Socket:
    """A bound unix socket (left bound until the test ends; the file stays)."""


SpecEntry = bytes | str | File | Dir | Symlink | Fifo | Socket
#: Keys are str or bytes paths; typed Any because Mapping is invariant in its key type, and a
#: dict[str, bytes] or a dict[bytes, File] must be a Spec too.
Spec = Mapping[Any, SpecEntry]

_sockets: list[socket.socket] = []


def _bpath(p: str | bytes) -> bytes:
    return p if isinstance(p, bytes) else os.fsencode(p)


def make_tree(root: str | os.PathLike[str], spec: Spec) -> Path:
    """Create the entries of ``spec`` below ``root`` (created if missing); return ``root``."""
    base = os.fsencode(os.fspath(root))
    os.makedirs(base, exist_ok=True)
    meta: list[tuple[bytes, int | None, int | None, bool]] = []  # path, mode, mtime, is_dir
    for key, value in spec.items():
        rel = _bpath(key)
        is_dir = rel.endswith(b"/") or isinstance(value, Dir)
        rel = rel.strip(b"/")
        path = os.path.join(base, rel)
        parent = os.path.dirname(path)
        os.makedirs(parent, exist_ok=True)
        if is_dir:
            d = value if isinstance(value, Dir) else Dir()
            os.makedirs(path, exist_ok=True)
            meta.append((path, d.mode, d.mtime_ns, True))
        elif isinstance(value, (bytes, str, File)):
            f = value if isinstance(value, File) else File(
                value if isinstance(value, bytes) else value.encode()
            )
            with open(path, "wb") as fh:
                fh.write(f.content)
            meta.append((path, f.mode, f.mtime_ns, False))
        elif isinstance(value, Symlink):
            os.symlink(_bpath(value.target), path)
        elif isinstance(value, Fifo):
            os.mkfifo(path, value.mode)
        elif isinstance(value, Socket):
            _bind_socket(path)
        else:  # pragma: no cover - a mistake in a test
            raise TypeError(f"unknown tree entry {value!r}")
    # Files first, then directories deepest first: setting a child never touches the parent.
    meta.sort(key=lambda m: (m[3], -m[0].count(b"/")))
    for path, mode, mtime_ns, _is_dir in meta:
        if mode is not None:
            os.chmod(path, mode)
        if mtime_ns is not None:
            os.utime(path, ns=(mtime_ns, mtime_ns))
    return Path(os.fsdecode(base))


def _bind_socket(path: bytes) -> None:
    """Bind a unix socket at ``path`` (by its basename: AF_UNIX paths are short)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path))
    try:
        s.bind(os.path.basename(path))
    finally:
        os.chdir(cwd)
    _sockets.append(s)


def close_sockets() -> None:
    while _sockets:
        _sockets.pop().close()


# --------------------------------------------------------------------------- describing trees


@dataclass(frozen=True)
class Meta:
    """What a test compares about one entry."""

    type: str  # "file" | "dir" | "symlink" | "fifo" | "socket" | "other"
    mode: int
    mtime_ns: int
    size: int = 0
    digest: str = ""  # sha256 of the content (files)
    target: bytes | None = None  # symlinks


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISREG, "file"),
        (stat.S_ISDIR, "dir"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "other"


def file_digest(path: str | bytes | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def describe(root: str | bytes | os.PathLike[str]) -> dict[bytes, Meta]:
    """Every entry below ``root`` (and ``root`` itself as ``b""``), by relative raw path."""
    base = os.fsencode(os.fspath(root))
    out: dict[bytes, Meta] = {}

    def one(path: bytes, rel: bytes) -> None:
        st = os.lstat(path)
        kind = _kind(st.st_mode)
        out[rel] = Meta(
            type=kind,
            mode=stat.S_IMODE(st.st_mode),
            mtime_ns=st.st_mtime_ns,
            size=st.st_size if kind == "file" else 0,
            digest=file_digest(path) if kind == "file" else "",
            target=os.readlink(path) if kind == "symlink" else None,
        )
        if kind == "dir":
            for name in sorted(os.listdir(path)):
                one(os.path.join(path, name), os.path.join(rel, name) if rel else name)

    one(base, b"")
    return out


def assert_trees_equal(
    src: str | bytes | os.PathLike[str] | Mapping[bytes, Meta],
    dst: str | bytes | os.PathLike[str],
    *,
    check_mtime: bool = True,
    check_dir_mtime: bool = True,
    check_root: bool = True,
    ignore: Sequence[bytes] = (),
) -> None:
    """Assert two trees hold the same entries with the same content, modes and mtimes.

    ``src`` may also be a :func:`describe` result taken earlier (the tree as it was)."""
    a = {k: v for k, v in (src if isinstance(src, Mapping) else describe(src)).items()
         if k not in ignore}
    b = {k: v for k, v in describe(dst).items() if k not in ignore}
    if not check_root:
        a.pop(b"", None)
        b.pop(b"", None)
    problems: list[str] = []
    for rel in sorted(a.keys() | b.keys()):
        shown = os.fsdecode(rel) or "."
        if rel not in b:
            problems.append(f"missing in dst: {shown}")
            continue
        if rel not in a:
            problems.append(f"extra in dst: {shown}")
            continue
        x, y = a[rel], b[rel]
        if x.type != y.type:
            problems.append(f"{shown}: type {x.type} != {y.type}")
            continue
        if x.type != "symlink" and x.mode != y.mode:
            problems.append(f"{shown}: mode {oct(x.mode)} != {oct(y.mode)}")
        if x.type == "file" and (x.size, x.digest) != (y.size, y.digest):
            problems.append(f"{shown}: content differs ({x.size} vs {y.size} bytes)")
        if x.type == "symlink" and x.target != y.target:
            problems.append(f"{shown}: link target {x.target!r} != {y.target!r}")
        want_mtime = check_mtime and (x.type != "dir" or check_dir_mtime)
        if want_mtime and x.mtime_ns != y.mtime_ns:
            problems.append(f"{shown}: mtime_ns {x.mtime_ns} != {y.mtime_ns}")
    if problems:
        more = f"\n... and {len(problems) - 30} more" if len(problems) > 30 else ""
        raise AssertionError("trees differ:\n  " + "\n  ".join(problems[:30]) + more)


def listing(root: str | os.PathLike[str]) -> set[str]:
    """All relative paths below ``root`` (nothing followed), for "nothing was written" checks."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, n), root))
    return out


# --------------------------------------------------------------------------- random trees

NAME_POOL: tuple[str, ...] = (
    "a",
    "B",
    "file.txt",
    "with space",
    "-leading-dash",
    "...",
    ".hidden",
    "ünïcödé",
    "日本語",
    "emoji-🎉",
    "new\nline",
    "tab\there",
    "quote'\"",
    "back\\slash",
    os.fsdecode(b"\xff\xfe"),
    os.fsdecode(b"latin1-\xe9"),
    "x" * 200,
)
FILE_MODES = (0o644, 0o600, 0o755, 0o700, 0o444, 0o640, 0o4755, 0o2750)
DIR_MODES = (0o755, 0o700, 0o750, 0o1777, 0o555)
SIZES = (0, 0, 1, 17, 4096, 65535, 65536, 65537, 200_000, 1_500_000)


def random_tree(
    root: str | os.PathLike[str],
    rng: random.Random,
    *,
    files: int = 40,
    max_depth: int = 4,
    big: int = 0,
    big_size: int = 3 * 1024 * 1024,
) -> dict[str, Any]:
    """A seeded random tree spec (created below ``root``); ``big`` files of ``big_size``."""
    spec: dict[str, Any] = {}
    dirs: list[str] = [""]
    for _ in range(max(2, files // 5)):
        parent = rng.choice(dirs)
        if parent.count("/") + 1 >= max_depth:
            continue
        name = rng.choice(NAME_POOL) + f"-{len(dirs)}"
        path = f"{parent}/{name}" if parent else name
        dirs.append(path)
        spec[path + "/"] = Dir(mode=rng.choice(DIR_MODES), mtime_ns=_rand_mtime(rng))
    for i in range(files + big):
        parent = rng.choice(dirs)
        name = f"{rng.choice(NAME_POOL)}.{i}"
        path = f"{parent}/{name}" if parent else name
        size = big_size if i >= files else rng.choice(SIZES)
        kind = rng.random()
        if kind < 0.3:  # compressible
            content = (rng.randbytes(64) * (size // 64 + 1))[:size]
        else:
            content = rng.randbytes(size)
        spec[path] = File(content, mode=rng.choice(FILE_MODES), mtime_ns=_rand_mtime(rng))
    make_tree(root, spec)
    return spec


def _rand_mtime(rng: random.Random) -> int:
    return rng.choice(
        (
            0,
            1,
            1_700_000_000_123_456_789,
            rng.randrange(-10**18, 4 * 10**18),
            rng.randrange(0, 2 * 10**18),
        )
    )


# --------------------------------------------------------------------------- library shortcuts


def init_repo(path: Path, pack_size: int | None = None) -> Repository:
    """A new repository; ``pack_size`` rewrites the config for tests that need many packs."""
    repo = Repository.init(path)
    if pack_size is not None:
        from dataclasses import replace

        cfg = replace(repo.config, pack_size=pack_size)
        if isinstance(repo.cipher, Sealed):  # (the test-wide encrypted mode) its MAC again
            cfg = replace(cfg, mac=repo.cipher.key.mac(cfg.mac_input()))
        repo.backend.save("config", "config", cfg.to_json())
        repo = Repository.open(path)
    return repo


def init_twin(path: Path, of: Repository) -> Repository:
    """A new, empty repository giving the same ids as ``of``: under ``of``'s key in the
    encrypted test mode (keyed ids differ between repositories by design), for the tests
    comparing a snapshot with one taken from scratch elsewhere."""
    repo = Repository.init(path)
    if isinstance(of.cipher, Sealed):
        for name in list(repo.backend.list("keys")):
            repo.backend.remove("keys", name)
        add_key(repo.backend, of.cipher.key, PASSPHRASE, KdfParams(MIN_SCRYPT_N, os.urandom(16)))
        repo.backend.save("config", "config", sealed_config(repo.config, of.cipher).to_json())
        repo = Repository.open(path)
    return repo


#: The encrypted test mode is on (``tests/encrypted_mode.py``): every repository is encrypted.
ENCRYPTED_MODE = os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1"

#: A test inherently about the plain format (its bytes, its xxh3 ids) or about a passphrase
#: not being supplied: skipped in the encrypted test mode (``tests/encrypted_mode.py``).
plain_only = pytest.mark.skipif(ENCRYPTED_MODE,
                                reason="about the plain format or a missing passphrase")


def take(
    repo: Repository,
    *sources: str | os.PathLike[str],
    parent: str | bool | None = True,
    capture: CaptureFile = capture_file,
    **kw: Any,
) -> tuple[str, Any]:
    """Snapshot ``sources``; ``parent=True`` uses the newest snapshot of the same sources.
    ``capture`` is the builder's file reader (a test's spy or fault)."""
    srcs = tuple(os.path.abspath(os.fspath(s)) for s in sources)
    kw.setdefault("cache", cache_root())  # as `snapkit snap` does (conftest: the run's folder)
    opts = SnapOptions(sources=srcs, workers=kw.pop("workers", 2), **kw)
    snaps = repo.snapshots()
    pair = None
    if parent is True:
        pair = find_parent(snaps, srcs, opts.hostname or socket.gethostname())
    elif isinstance(parent, str):
        pair = next(p for p in snaps if p[0] == parent)
    result = create_snapshot(repo, opts, pair, capture=capture)
    # As restic does: every snapshot a test takes leaves a repository that checks clean.
    report = check_repository(repo)
    assert report.ok, report.errors
    return result


def restore(
    repo: Repository, snap_id: str, target: str | os.PathLike[str], **kw: Any
) -> RestoreResult:
    snap = repo.load_snapshot(snap_id)
    opts = RestoreOptions(target=os.path.abspath(os.fspath(target)), **kw)
    return restore_snapshot(repo.load_tree, repo.read_blobs, snap, opts,
                            Chunker(repo.config.chunker, repo.cipher.content_id))


def restored(target: str | os.PathLike[str], source: str | os.PathLike[str]) -> Path:
    """Where ``source`` lands below a restore ``target`` (its absolute path, re-rooted)."""
    return Path(target) / os.path.abspath(os.fspath(source)).lstrip(os.sep)


def verify_repository(repo_path: Path) -> None:
    """`snapkit check --read-data`: every pack, blob, tree and file size; every snapshot."""
    report = check_repository(Repository.open(repo_path), read_data=True)
    assert report.ok, report.errors


def plant_lock(
    repo_path: Path,
    pid: int,
    *,
    exclusive: bool = True,
    host: str | None = None,
    started: float | None = None,
    operation: str = "prune",
    name: str = "f" * 32,
) -> str:
    """Write a lock file as another snapkit process would; return its name."""
    info = {
        "host": socket.gethostname() if host is None else host,
        "pid": pid,
        "time": time.time() if started is None else started,
        "exclusive": exclusive,
        "operation": operation,
    }
    repo = Repository.open(repo_path)  # (sealed with its key, in the encrypted test mode)
    repo.backend.save("locks", name, repo.cipher.seal(encode_lock(info), "lock"))
    return name


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@dataclass
class Sleeper:
    """A live child process whose pid can hold a planted lock."""

    proc: subprocess.Popen[bytes] = field(
        default_factory=lambda: subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"]
        )
    )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


# --------------------------------------------------------------------------- in-process CLI

# Variables that could point an in-process run at the user's home, config or OpenClaw install.
ISOLATE_VARS: tuple[str, ...] = (
    "HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
    "OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR", "OPENCLAW_HOME", "OPENCLAW_PROFILE",
    "OPENCLAW_CONFIG_PATH", "CLAWDBOT_CONFIG_PATH", "OPENCLAW_OAUTH_DIR", "OPENCLAW_WORKSPACE_DIR",
)


def cli_runner() -> CliRunner:
    """A ``CliRunner`` that keeps stderr apart from stdout (the default from click 8.2)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        return CliRunner()


def env_for(base: Path, state: Path | None = None) -> dict[str, str]:
    """HOME, XDG_*, SNAPKIT_REPO (and OPENCLAW_STATE_DIR) all below ``base``; HOME is
    ``base`` itself, so the repository is in the home directory, where a new one is not
    encrypted by default (as the default repository is)."""
    return {
        "HOME": str(base),
        "XDG_CONFIG_HOME": str(base / "xdg-config"),
        "XDG_DATA_HOME": str(base / "xdg-data"),
        "XDG_CACHE_HOME": str(base / "xdg-cache"),
        "SNAPKIT_REPO": str(base / "repo"),
        "OPENCLAW_STATE_DIR": str(state if state is not None else base / "no-openclaw"),
    }


@dataclass
class CliResult:
    """What one in-process run of the CLI left: exit code, stdout as bytes, stderr decoded."""

    code: int
    stdout_bytes: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout_bytes.decode()

    @property
    def stdout(self) -> str:
        return self.text

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.lines if line.strip()]

    def json(self) -> Any:
        """The one JSON line of the output."""
        lines = [ln for ln in self.lines if ln.strip()]
        assert len(lines) == 1, self.text
        return json.loads(lines[0])


def invoke_main(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    isolate: Sequence[str] = (),
    clear_prefixes: tuple[str, ...] = ("SNAPKIT_",),
    cwd: Path | None = None,
) -> CliResult:
    """Run the real entry point ``main()`` in-process, with click's stream/env isolation (so
    the error boundary and exit codes are exercised exactly as the console script runs them).

    Every variable starting with one of ``clear_prefixes`` and every one named in ``isolate``
    is unset (the encrypted test mode's passphrase is given unless ``isolate`` names
    ``SNAPKIT_PASSWORD``), then ``env`` is applied; ``cwd`` is where the command runs. The
    SIGTERM handler and ``--verbose`` are restored afterwards."""
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith(clear_prefixes)}
    overrides.update(dict.fromkeys(isolate))
    overrides.update({k: v for k, v in test_secrets().items() if k not in isolate})
    overrides.update(env or {})
    old_term = signal.getsignal(signal.SIGTERM)
    old_cwd = os.getcwd() if cwd is not None else None
    code = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with cli_runner().isolation(env=overrides) as streams:
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            stdout = streams[0].getvalue()
            stderr = streams[1].getvalue().decode() if streams[1] is not None else ""
    finally:
        if old_cwd is not None:
            os.chdir(old_cwd)
        signal.signal(signal.SIGTERM, old_term)
        common.VERBOSE["on"] = False
        passphrase_module.JSON_WARNINGS["on"] = False
    return CliResult(code, stdout, stderr)


# --------------------------------------------------------------------------- subprocess CLI


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment for ``python -m snapkit`` isolated below ``tmp``, which is HOME (a
    repository below it is in the home directory, as the default one is: see :func:`env_for`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNAPKIT_", "OPENCLAW_"))}
    env.update(
        HOME=str(tmp),
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(test_secrets())
    env.update(extra)
    return env


def invoke_own_passphrase(args: Sequence[str], env: Mapping[str, str]) -> CliResult:
    """:func:`invoke_main` without the encrypted test mode's passphrase in the environment:
    the test gives its own (``env``), or none."""
    return invoke_main(args, env, isolate=("SNAPKIT_PASSWORD_FILE", "SNAPKIT_PASSWORD"))


def one_line_error(out: CliResult, code: int, *needles: str) -> str:
    """The one ``snapkit: error:`` line of a run that exited ``code``, holding ``needles``."""
    assert out.code == code, (out.code, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapkit: error: "), out.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def other_filesystem(tmp_path: Path) -> Path:
    """A new folder on another filesystem than ``tmp_path`` (outside the tests' home
    directories, where ``init`` encrypts by default), else the test is skipped; the
    ``elsewhere`` fixture (conftest.py) removes it afterwards."""
    for base in ("/dev/shm", "/run/user", "/var/tmp", "/tmp"):
        if os.path.isdir(base) and os.access(base, os.W_OK) \
                and os.stat(base).st_dev != os.stat(tmp_path).st_dev:
            path = Path(base) / f"snapkit-test-{os.getpid()}-{tmp_path.name}"
            path.mkdir()
            return path
    pytest.skip("no second writable filesystem here")


def test_secrets() -> dict[str, str]:
    """The passphrase of the test-wide encrypted mode (``tests/encrypted_mode.py``) for a
    CLI run whose environment is otherwise isolated; nothing in the usual mode."""
    if os.environ.get("SNAPKIT_TEST_ENCRYPTED") != "1":
        return {}
    return {"SNAPKIT_PASSWORD": os.environ.get("SNAPKIT_PASSWORD", "")}


def created_line(location: Path | str, in_process: bool = True) -> str:
    """The note of a repository a ``snap`` or ``import`` made by itself (in the encrypted test
    mode every repository made in this process is encrypted; one a subprocess makes is not)."""
    what = ("(encrypted)" if in_process and os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1" else
            "(not encrypted: it is in your home directory; `snapkit init --encryption "
            "repokey` makes an encrypted one)")
    return f"created a new repository at {location} {what}"


def without_export_note(stderr: str) -> str:
    """``stderr`` of an export without its note that an encrypted repository's archive is
    plain: it is there in the encrypted test mode only (every repository is encrypted)."""
    if os.environ.get("SNAPKIT_TEST_ENCRYPTED") != "1":
        return stderr
    return "".join(line for line in stderr.splitlines(keepends=True)
                   if line.rstrip("\n") != PLAIN_ARCHIVE_NOTE)


def run_snapkit(
    args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snapkit", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def popen_snapkit(
    args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "snapkit", *args],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def signal_when(args: Sequence[str], env: Mapping[str, str],
                ready: Callable[[subprocess.Popen[str]], bool],
                sig: int = signal.SIGKILL, timeout: float = 60.0) -> tuple[int, str]:
    """Run ``snapkit ARGS``, send it ``sig`` once ``ready(process)`` holds (asserted to come
    within ``timeout``) and wait for it to end: its exit status and stderr. The process is
    never left running."""
    proc = popen_snapkit(args, env)
    try:
        assert wait_for(lambda: ready(proc), timeout=timeout)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def iter_store_files(repo_path: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(repo_path):
        for f in files:
            yield Path(dirpath) / f


def stderr_on_a_terminal(argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None,
                         columns: int = 160, timeout: float = 60) -> str:
    """Run ``python -m snapkit ARGV`` with stderr on a pseudo-terminal ``columns`` wide (stdin
    and stdout closed); what it drew there. The run must exit 0."""
    import fcntl
    import pty
    import termios

    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "snapkit", *argv], env=dict(env), cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=side)
    os.close(side)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        got += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0, got
    return got.decode(errors="replace")
