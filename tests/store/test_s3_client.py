"""The S3 backend's botocore client (``snapkit.store.s3``): built once per endpoint and
credentials in a process, anew when the AWS variables change; the loader's shortcut for
"is this a service" still knows S3 and still refuses an unknown name with botocore's error.
No server is needed: creating a client sends nothing."""

from __future__ import annotations

import pytest

from snapkit.store.location import S3Location
from snapkit.store.s3 import S3Backend
from snapkit.store.s3_client import botocore_session

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
