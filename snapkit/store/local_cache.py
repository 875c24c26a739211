"""The local cache: facts about a repository kept on this machine to spare work next time.

Nothing in it is needed to read or write a repository: deleting it (or ``SNAPKIT_NO_CACHE=1``)
only makes the next run slower. Its files are checked when read (an xxh3-128 of the content
trails it) and one that is missing, torn or damaged is ignored, so a cache file is written
by rename without an fsync. Where it lives: ``$SNAPKIT_CACHE_DIR``, else
``$XDG_CACHE_HOME/snapkit``, else the platform's cache folder (``~/.cache/snapkit``,
``~/Library/Caches/snapkit``, ``%LOCALAPPDATA%\\snapkit\\cache``); one folder per repository
id, the top folder tagged with a ``CACHEDIR.TAG`` so that snapkit (``--exclude-caches``),
restic, borg and tar leave it out of backups. Folders are ``0700`` and files ``0600``: the
cache names trees of private data.

One fact is kept for safety, not speed: which repositories this machine has opened encrypted
(:func:`remember_encrypted`, by id and location), so that a plain config an attacker puts in
the place of an encrypted repository's is refused even once its key files are gone too
(``docs/format.md``, "What whoever holds the store learns, and cannot do").
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import xxhash

#: The cache folder's tag (https://bford.info/cachedir/): the signature line comes first.
TAG = (b"Signature: 8a477f597d28d172789f06886806bc55\n"
       b"# This file is a cache directory tag created by snapkit.\n"
       b"# For information about cache directory tags, see https://bford.info/cachedir/\n")
_SUM = 16  # bytes of the trailing xxh3-128


def cache_root(env: Mapping[str, str] | None = None) -> Path | None:
    """The top cache folder (not created here); None when the cache is turned off."""
    env = os.environ if env is None else env
    if env.get("SNAPKIT_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no"):
        return None
    if env.get("SNAPKIT_CACHE_DIR"):
        return Path(env["SNAPKIT_CACHE_DIR"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "snapkit"
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "snapkit" / "cache"
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "snapkit"
    return home / ".cache" / "snapkit"


def make_private(folder: Path) -> None:
    """Create ``folder`` and each missing folder above it ``0700`` (``os.makedirs`` gives the
    mode to the last one only); OSError when it cannot."""
    missing: list[Path] = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        os.chmod(path, 0o700)


def repo_folder(root: Path, repo_id: str) -> Path:
    """The cache folder of repository ``repo_id`` under ``root``, created ``0700`` (and the
    root's ``CACHEDIR.TAG``) if need be; OSError when it cannot be."""
    folder = root / repo_id
    make_private(folder)
    tag = root / "CACHEDIR.TAG"
    if not tag.exists():
        write(tag, TAG, checked=False)
    return folder


def read(path: Path) -> bytes | None:
    """The content of cache file ``path``, or None when it is missing or fails its check."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < _SUM:
        return None
    body, digest = data[:-_SUM], data[-_SUM:]
    return body if xxhash.xxh3_128_digest(body) == digest else None


def write(path: Path, data: bytes, checked: bool = True) -> None:
    """Replace cache file ``path`` with ``data`` (and its check, when ``checked``): written
    ``0600`` to a temporary name (of this process and thread), then renamed; OSError as the
    file system gives it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if checked:
                f.write(xxhash.xxh3_128_digest(data))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- repositories seen encrypted

#: The cache file listing the repositories this machine has opened encrypted, one line each:
#: ``<repository id> <xxh3-128 of its location> <keyed MAC of its id>``.
SEEN_ENCRYPTED = "encrypted-repositories"
#: It keeps the repositories added last, at most this many.
SEEN_MAX = 512


def _location_key(location: str) -> str:
    return xxhash.xxh3_128_hexdigest(location.encode("utf-8", "surrogateescape"))


def _seen(root: Path) -> list[list[str]]:
    body = read(root / SEEN_ENCRYPTED)
    if body is None:
        return []
    return [line.split() for line in body.decode("ascii", "replace").splitlines()
            if len(line.split()) == 3]


def seen_encrypted(repo_id: str | None, location: str) -> str | None:
    """Whether this machine has opened the repository of id ``repo_id`` (None: unknown), or
    the one at ``location``, encrypted: the keyed MAC of its id then recorded ("" when only
    the location matched), else None. Nothing is known with the cache turned off."""
    root = cache_root()
    if root is None:
        return None
    where = _location_key(location)
    found: str | None = None
    for rid, loc, mac in _seen(root):
        if rid == repo_id:
            return mac
        if loc == where:
            found = ""
    return found


def seen_at(location: str) -> list[tuple[str, str]]:
    """The repositories this machine opened encrypted at ``location``: (id, keyed MAC of it)."""
    root = cache_root()
    where = _location_key(location)
    return [] if root is None else [(rid, mac) for rid, loc, mac in _seen(root) if loc == where]


def remember_encrypted(repo_id: str, location: str, id_mac: str) -> None:
    """Record that repository ``repo_id`` at ``location`` is encrypted (its id's keyed MAC
    ``id_mac``), so that a plain config put in its place is refused later; nothing when it is
    recorded already or the cache cannot be written."""
    root = cache_root()
    if root is None:
        return
    line = [repo_id, _location_key(location), id_mac]
    lines = _seen(root)
    if line in lines:
        return
    kept = [ln for ln in lines if ln[0] != repo_id]
    _write_seen(root, [*kept, line][-SEEN_MAX:])


def forget_location(location: str) -> None:
    """Drop what is recorded of the repositories at ``location`` (a new one is created there:
    it may be plain)."""
    root = cache_root()
    if root is None:
        return
    where = _location_key(location)
    lines = _seen(root)
    kept = [ln for ln in lines if ln[1] != where]
    if len(kept) != len(lines):
        _write_seen(root, kept)


def _write_seen(root: Path, lines: list[list[str]]) -> None:
    try:
        make_private(root)
        if not (root / "CACHEDIR.TAG").exists():
            write(root / "CACHEDIR.TAG", TAG, checked=False)
        write(root / SEEN_ENCRYPTED, "".join(" ".join(ln) + "\n" for ln in lines).encode())
    except OSError:
        pass  # (a cache that cannot be written: nothing remembered)
