"""The S3 backend's botocore client: built once per process for an endpoint and credentials,
with one shared model loader (``snapkit.store.s3``).

boto3 (the ``s3`` extra) must be installed, but its client is botocore's, used directly:
importing boto3 itself (and s3transfer) costs start-up and adds nothing snapkit uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from snapkit import __version__
from snapkit.format.errors import UsageError

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


def botocore_session() -> Any:
    """A new botocore session sharing one model loader: the S3 service model is read and
    parsed once per process, not once per backend (about 0.1 s each)."""
    import botocore.session

    session = botocore.session.Session()
    if _LOADER:
        session.register_component("data_loader", _LOADER[0])
    else:
        loader = session.get_component("data_loader")
        loader.list_available_services = lambda type_name: _Services(loader, type_name)
        _LOADER.append(loader)
    return session


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


def _new_client(endpoint: str | None, access_key: str | None, secret_key: str | None
                ) -> tuple[Any, str]:
    """A botocore S3 client and its region. Credentials and region: the usual chain (AWS_*
    variables, ~/.aws/config, instance roles) unless given here."""
    from botocore.config import Config

    session = botocore_session()
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


def client_for(endpoint: str | None, access_key: str | None, secret_key: str | None
               ) -> tuple[Any, str]:
    """The client (and its region) for ``endpoint`` and these credentials: one per process
    for the same endpoint, credentials and AWS_* variables (botocore clients are
    thread-safe; opening a repository twice builds one)."""
    _check_boto3()
    key = (endpoint, access_key, secret_key, *map(os.environ.get, _AWS_ENV))
    if key not in _CLIENTS:
        _CLIENTS[key] = _new_client(endpoint, access_key, secret_key)
    return _CLIENTS[key]
