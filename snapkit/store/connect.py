"""The backend that serves a repository location: S3 for an ``s3:`` URL, else a directory.

``location`` parses (pure, no backend); this module picks the backend, so neither of
``location`` and ``s3`` imports the other's dependents: ``s3`` uses ``location``'s
:class:`~snapkit.store.location.S3Location`, and only this module knows both backends. boto3
is still imported only when an S3 repository is opened (``S3Backend``'s first use), and the
``s3`` module itself only for an ``s3:`` location (a local repository never loads it). An S3
backend gets snapkit's cache directory (``s3_cache.default_cache_dir``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from snapkit.format.errors import ConfigDamaged, RepositoryMissing, SnapkitError, UsageError
from snapkit.format.repo_config import RepoConfig
from snapkit.store.backend import KINDS, TMP_PREFIX, Backend, LocalBackend, NotFound
from snapkit.store.location import is_remote, parse_s3


def backend_for(location: str | Path) -> Backend:
    """The backend for a ``--repo`` value: S3 for ``s3:`` locations, else a local directory.

    A local path is used as given (the CLI makes it absolute first)."""
    if is_remote(location):
        from snapkit.store.s3 import S3Backend  # only for S3 (its module and thread pool)
        from snapkit.store.s3_cache import default_cache_dir

        return S3Backend(parse_s3(str(location)), cache_dir=default_cache_dir())
    return LocalBackend(Path(location))


def is_vacant(location: str | Path | Backend) -> bool:
    """True when nothing is stored at ``location`` yet, so a repository may be created there:
    a missing or empty directory, one holding only the empty layout an interrupted ``init``
    leaves (no config, key file, pack, index file or snapshot), or a bucket/prefix without
    repository files."""
    backend = location if not isinstance(location, (str, Path)) else backend_for(location)
    root = backend.local_root()
    if root is not None:
        return not root.exists() or (root.is_dir() and _empty_layout(root))
    return not any(next(iter(backend.list(kind)), None) is not None for kind in KINDS)


def ensure_vacant(backend: Backend) -> None:
    """Refuse (UsageError) to create a repository where something is stored already."""
    where = backend.location
    if backend.exists():
        raise UsageError(f"a repository already exists at {where}; use it, or pick another "
                         "path with --repo")
    if not is_vacant(backend):
        if _has_key_files(backend):  # a repository whose config was lost
            raise UsageError(f"{where} holds a repository whose config is missing (its key "
                             "files are there): `snapkit repair config` writes it again; or "
                             "choose another path with --repo")
        if backend.local_root() is not None:
            raise UsageError(f"{where} exists and is not an empty directory; choose a new "
                             "path for the repository with --repo")
        raise UsageError(f"{where} holds repository files but no config; choose another "
                         "bucket or prefix with --repo")


def _has_key_files(backend: Backend) -> bool:
    try:
        return next(iter(backend.list("keys")), None) is not None
    except (OSError, SnapkitError):  # (a file in the way, an unreadable folder: said below)
        return False


def _empty_layout(root: Path) -> bool:
    """``root`` holds nothing but the folders of the layout, empty (temp files aside)."""
    for entry in root.iterdir():
        if entry.name.startswith(TMP_PREFIX):
            continue
        if entry.name not in KINDS[1:] or not entry.is_dir() or entry.is_symlink():
            return False
        if any(not e.name.startswith(TMP_PREFIX) for e in entry.iterdir()):
            return False
    return True


def has_repository_files(backend: Backend) -> bool:
    """Whether the rest of a repository is at the backend's location: the directories
    ``snapkit init`` creates (a local repository), holding something, or any stored snapshot,
    index file, pack or key file (an ``init`` killed between its key file and its config: the
    repository opens through the key file)."""
    root = backend.local_root()
    if root is not None:
        return (all((root / kind).is_dir() for kind in ("packs", "index", "snapshots"))
                and not _empty_layout(root))
    return any(next(iter(backend.list(kind)), None) is not None
               for kind in ("snapshots", "index", "packs", "keys"))


def write_new(backend: Backend, config: RepoConfig, key_file: tuple[str, bytes] | None) -> None:
    """Create a new repository's layout, then write its key file (id and bytes) and its config
    (the commit point); interrupted or failing before the config is written, remove what was
    made (the key file, the empty folders of the layout, and the repository's folder unless
    it existed before) and raise again."""
    root = backend.local_root()
    existed = root is None or root.exists()
    try:
        backend.create()
        if key_file is not None:
            backend.save("keys", *key_file)
        backend.save("config", "config", config.to_json())
    except BaseException:
        with contextlib.suppress(OSError, SnapkitError):
            if key_file is not None:
                backend.remove("keys", key_file[0])
            if root is not None:
                for kind in KINDS[1:]:
                    with contextlib.suppress(OSError):
                        (root / kind).rmdir()
                if not existed:
                    root.rmdir()
        raise


def read_config(backend: Backend) -> RepoConfig | str:
    """The repository's config, or why it cannot be read (missing or damaged) where the rest
    of a repository is there; RepositoryMissing when there is no repository."""
    where = backend.location
    missing = (f"no repository at {where}; create one with `snapkit init --repo {where}` "
               "or point --repo / $SNAPKIT_REPO at an existing one")
    root = backend.local_root()
    if root is not None and not root.exists():
        raise RepositoryMissing(missing)
    try:
        data = backend.load("config", "config")
    except NotFound as exc:
        if has_repository_files(backend):
            return "the file is missing"
        if root is not None:
            raise RepositoryMissing(f"{where} is not a snapkit repository (no config file); "
                                    "check --repo / $SNAPKIT_REPO") from exc
        raise RepositoryMissing(missing) from exc
    except OSError as exc:
        raise RepositoryMissing(f"cannot read repository {where}: {exc.strerror}") from exc
    try:
        return RepoConfig.from_json(data, where)
    except ConfigDamaged as exc:
        if not has_repository_files(backend):
            raise
        return exc.message
