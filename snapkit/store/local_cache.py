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
