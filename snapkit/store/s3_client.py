"""The S3 backend's botocore client: built once per process for an endpoint and credentials,
with one shared model loader (``snapkit.store.s3``).

boto3 (the ``s3`` extra) must be installed, but its client is botocore's, used directly:
importing boto3 itself (and s3transfer) costs start-up and adds nothing snapkit uses.

Building a client parses botocore's JSON data files (the S3 service model, its endpoint rule
set, the endpoint and partition tables: ~30 ms of ``json.loads`` a process). With a cache
directory, :class:`MarshalFiles` keeps each file's parsed content in ``marshal`` form below it
(keyed by botocore's and Python's versions, checked against the source file's size and mtime
and against its own digest), which loads in a fraction of that. Once a client is built,
:func:`client_for` moves every object alive into the collector's permanent generation
(``gc.freeze``, after the process's first client): botocore's models live as long as the
process, and a collection that walks them again (the last one at exit among them) only costs
time.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from snapkit import __version__
from snapkit.format.errors import UsageError
from snapkit.format.model import content_id
from snapkit.store import local_cache
from snapkit.store.local_cache import make_private

DEFAULT_REGION = "us-east-1"
BOTO3_MISSING = "the S3 backend needs boto3: pip install 'snapkit[s3]'"

#: AWS variables that choose the credentials and the region (part of a client's identity).
_AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
            "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE")


def _check_boto3() -> None:
    """boto3 (the ``s3`` extra) must be installed."""
    from importlib.util import find_spec

    try:
        found = find_spec("boto3") is not None and find_spec("botocore") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(BOTO3_MISSING)


_LOADER: list[Any] = []
#: One client per endpoint and credentials in a process (botocore clients are thread-safe):
#: opening a repository twice (``snap`` checks the location, then opens it) builds one.
_CLIENTS: dict[tuple[str | None, ...], tuple[Any, str]] = {}


def botocore_session(cache_dir: Path | None = None) -> Any:
    """A new botocore session sharing one model loader: the S3 service model is read and
    parsed once per process, not once per backend (about 0.1 s each); with ``cache_dir``
    (the first call's counts), through :class:`MarshalFiles` below it."""
    import botocore.session

    session = botocore.session.Session()
    if _LOADER:
        session.register_component("data_loader", _LOADER[0])
    else:
        loader = session.get_component("data_loader")
        loader.list_available_services = lambda type_name: _Services(loader, type_name)
        if cache_dir is not None:
            loader.file_loader = MarshalFiles(loader.file_loader, cache_dir / "botocore")
        _LOADER.append(loader)
    return session


def _plain(value: Any) -> Any:
    """``value`` with botocore's OrderedDicts as dicts (ordered too), which marshal takes."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class MarshalFiles:
    """botocore's JSON file loader with a cache of each parsed file in ``marshal`` form below
    ``root``. An entry holds the source's path, size and mtime and its payload's digest; one
    that does not match (botocore upgraded, a file changed or damaged) is read from the source
    again and written anew. Writing is best effort (temp file, rename)."""

    def __init__(self, files: Any, root: Path) -> None:
        import botocore

        self._files = files
        tag = f"{botocore.__version__}-py{sys.version_info[0]}{sys.version_info[1]}" \
              f"-m{marshal.version}"
        self._root = root / tag

    def exists(self, file_path: str) -> bool:
        return bool(self._files.exists(file_path))

    def load_file(self, file_path: str) -> Any:
        source = _source(file_path)
        if source is None:
            return self._files.load_file(file_path)
        entry = self._root / content_id(file_path.encode())
        found = _read_entry(entry, source)
        if found is not None:
            return found
        data = self._files.load_file(file_path)
        if data is not None:
            payload = marshal.dumps(_plain(data))
            _write_entry(entry, marshal.dumps((*source, content_id(payload), payload)))
        return data


def _source(file_path: str) -> tuple[str, int, int] | None:
    """The file botocore would read for ``file_path`` (``.json``, else ``.json.gz``): path,
    size, mtime."""
    for ext in (".json", ".json.gz"):
        try:
            st = os.stat(file_path + ext)
        except OSError:
            continue
        return file_path + ext, st.st_size, st.st_mtime_ns
    return None


def _read_entry(entry: Path, source: tuple[str, int, int]) -> Any:
    try:
        head = marshal.loads(entry.read_bytes())
        if tuple(head[:3]) == source and content_id(head[4]) == head[3]:
            return marshal.loads(head[4])
    except (OSError, EOFError, ValueError, TypeError, IndexError):
        pass
    return None


def _write_entry(entry: Path, data: bytes) -> None:
    """Best effort: a cache entry that cannot be written is read from the source again."""
    with contextlib.suppress(OSError):
        make_private(entry.parent)
        local_cache.write(entry, data, checked=False)  # (marshal's own check is inside)


class _Services:
    """What botocore's loader answers for "the services there are": ``load_service_model``
    only asks whether a name is among them, which this checks on that service's directory,
    where botocore would list every service's (~400 directories, thousands of ``stat``
    calls per model loaded)."""

    def __init__(self, loader: Any, type_name: str) -> None:
        self._loader = loader
        self._type = type_name

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(
            os.path.isdir(os.path.join(path, name)) for path in self._loader.search_paths)

    def __iter__(self) -> Iterator[str]:  # the whole list, for an error message
        import botocore.loaders

        return iter(botocore.loaders.Loader.list_available_services(self._loader, self._type))


def _new_client(endpoint: str | None, access_key: str | None, secret_key: str | None,
                cache_dir: Path | None = None) -> tuple[Any, str]:
    """A botocore S3 client and its region. Credentials and region: the usual chain (AWS_*
    variables, ~/.aws/config, instance roles) unless given here."""
    from botocore.config import Config

    session = botocore_session(cache_dir)
    if access_key is not None or secret_key is not None:
        session.set_credentials(access_key, secret_key)
    region: str = session.get_config_variable("region") or DEFAULT_REGION
    options: dict[str, Any] = {
        # Custom endpoints (MinIO, Ceph, rclone…) rarely have wildcard DNS for buckets.
        "s3": {"addressing_style": "path" if endpoint else "auto"},
        "connect_timeout": 10,
        "read_timeout": 120,
        "user_agent_extra": f"snapkit/{__version__}",
        # read-ahead, uploads and the caller's own requests at once (s3_read, s3_write)
        "max_pool_connections": 16,
    }
    if "request_checksum_calculation" in Config.OPTION_DEFAULTS:
        # botocore >= 1.36 adds CRC32 trailers by default, which several S3-compatible
        # servers refuse; every PUT carries Content-MD5 instead (save below).
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    client = session.create_client("s3", endpoint_url=endpoint, region_name=region,
                                   config=Config(**options))
    return client, region


def client_for(endpoint: str | None, access_key: str | None, secret_key: str | None,
               cache_dir: Path | None = None) -> tuple[Any, str]:
    """The client (and its region) for ``endpoint`` and these credentials: one per process
    for the same endpoint, credentials and AWS_* variables (botocore clients are
    thread-safe; opening a repository twice builds one). ``cache_dir``: where parsed model
    files are kept (:class:`MarshalFiles`; None: parsed from botocore's files)."""
    _check_boto3()
    key = (endpoint, access_key, secret_key, *map(os.environ.get, _AWS_ENV))
    if key not in _CLIENTS:
        _CLIENTS[key] = _new_client(endpoint, access_key, secret_key, cache_dir)
        if len(_CLIENTS) == 1:  # botocore's models stay for good: no collection walks them
            gc.freeze()
    return _CLIENTS[key]


# ---------------------------------------------------------------- what botocore errors mean

DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403",
           "InvalidToken", "ExpiredToken", "AllAccessDisabled", "AccountProblem"}
MISSING_CODES = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}


def error_code(exc: Any) -> str:
    """The S3 error code of a botocore ClientError (``NoSuchKey``, ``AccessDenied``…)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: Any) -> int:
    """The HTTP status of a botocore ClientError (0 when it has none)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def failure_reason(exc: Exception) -> str:
    """The short cause of a connection failure ("[Errno 111] Connection refused")."""
    text = str(getattr(exc, "kwargs", {}).get("error") or exc)
    found = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    return (found.group(0) if found else text).strip()


def is_missing(exc: Any) -> bool:
    """Whether a botocore ClientError says the object or bucket does not exist."""
    return error_code(exc) in MISSING_CODES or http_status(exc) == 404
