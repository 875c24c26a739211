"""The backend that serves a repository location: S3 for an ``s3:`` URL, else a directory.

``location`` parses (pure, no backend); this module picks the backend, so neither of
``location`` and ``s3`` imports the other's dependents: ``s3`` uses ``location``'s
:class:`~snapkit.store.location.S3Location`, and only this module knows both backends. boto3
is still imported only when an S3 repository is opened (``S3Backend``'s first use), and the
``s3`` module itself only for an ``s3:`` location (a local repository never loads it). An S3
backend gets snapkit's cache directory (``s3_cache.default_cache_dir``).
"""

from __future__ import annotations

from pathlib import Path

from snapkit.store.backend import KINDS, Backend, LocalBackend
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
    a missing or empty directory, or a bucket/prefix without repository files."""
    backend = location if not isinstance(location, (str, Path)) else backend_for(location)
    root = backend.local_root()
    if root is not None:
        return not root.exists() or (root.is_dir() and not any(root.iterdir()))
    return not any(next(iter(backend.list(kind)), None) is not None for kind in KINDS)


def has_repository_files(backend: Backend) -> bool:
    """Whether the rest of a repository is at the backend's location: the directories
    ``snapkit init`` creates (a local repository), or any stored snapshot, index file or pack."""
    root = backend.local_root()
    if root is not None:
        return all((root / kind).is_dir() for kind in ("packs", "index", "snapshots"))
    return any(next(iter(backend.list(kind)), None) is not None
               for kind in ("snapshots", "index", "packs"))
