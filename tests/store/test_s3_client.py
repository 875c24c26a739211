"""The S3 backend's botocore client (``snapkit.store.s3``): built once per endpoint and
credentials in a process, anew when the AWS variables change; the loader's shortcut for
"is this a service" still knows S3 and still refuses an unknown name with botocore's error;
the cache of parsed model files gives what botocore's JSON gives, and is read again when
damaged or stale. No server is needed: creating a client sends nothing."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest

from snapkit.store.location import S3Location
from snapkit.store.s3 import S3Backend
from snapkit.store.s3_client import MarshalFiles, botocore_session

pytest.importorskip("botocore", reason="boto3 is not installed (pip install '.[test]')")

ENDPOINT = "http://127.0.0.1:9"  # never contacted


def _backend(bucket: str, key: str = "k1") -> S3Backend:
    return S3Backend(S3Location(bucket, "", ENDPOINT), access_key=key, secret_key="s" * 16)


def test_one_client_per_endpoint_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _backend("bucket-a"), _backend("bucket-b")
    assert a._client is b._client
    assert _backend("bucket-a", key="k2")._client is not a._client
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    moved = _backend("bucket-a")
    assert moved._client is not a._client and moved.region == "eu-west-3"


def test_the_loader_knows_s3_and_refuses_an_unknown_service() -> None:
    from botocore.exceptions import UnknownServiceError

    session = botocore_session()
    assert session.create_client("s3", region_name="us-east-1").meta.service_model
    with pytest.raises(UnknownServiceError, match=r"Valid service names are: .*s3"):
        session.create_client("no-such-service", region_name="us-east-1")


def test_model_files_are_cached_parsed_and_checked(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.loaders import JSONFileLoader

    files = MarshalFiles(JSONFileLoader(), tmp_path)
    source = _service_model_path()
    parsed = JSONFileLoader().load_file(source)
    assert files.load_file(source) == parsed  # read from botocore's file, and kept
    (entry,) = [p for p in tmp_path.rglob("*") if p.is_file()]

    def no_json(self: object, file_path: str) -> None:
        raise AssertionError("botocore's file was parsed again")

    monkeypatch.setattr(JSONFileLoader, "load_file", no_json)
    assert files.load_file(source) == parsed  # from the cache
    monkeypatch.undo()
    data = bytearray(entry.read_bytes())
    data[-10] ^= 0xFF  # damaged: read from botocore's file again, and written anew
    entry.write_bytes(bytes(data))
    assert files.load_file(source) == parsed
    assert entry.read_bytes() != bytes(data)
    stale = marshal.loads(entry.read_bytes())
    entry.write_bytes(marshal.dumps((stale[0], stale[1] + 1, *stale[2:])))  # source changed
    assert files.load_file(source) == parsed
    assert marshal.loads(entry.read_bytes())[1] == stale[1]
    assert files.load_file(source + "-missing") is None


def test_a_client_built_through_the_cache_works_alike(tmp_path: Path) -> None:
    import botocore.session

    plain = botocore.session.Session().create_client("s3", region_name="us-east-1")
    for _ in range(2):  # the second time from the cache
        files = MarshalFiles(botocore.session.Session().get_component("data_loader").file_loader,
                             tmp_path)
        session = botocore.session.Session()
        session.get_component("data_loader").file_loader = files
        client = session.create_client("s3", region_name="us-east-1")
        assert client.meta.service_model.operation_names == \
            plain.meta.service_model.operation_names
        assert client.meta.partition == plain.meta.partition


def _service_model_path() -> str:
    import botocore.session

    loader = botocore.session.Session().get_component("data_loader")
    version = loader.determine_latest_version("s3", "service-2")
    return next(os.path.join(path, "s3", version, "service-2") for path in loader.search_paths
                if os.path.isdir(os.path.join(path, "s3", version)))
