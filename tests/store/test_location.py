"""Repository locations: which ``--repo`` values name S3, and how they are parsed (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapkit.format.errors import UsageError
from snapkit.store.backend import LocalBackend
from snapkit.store.connect import backend_for
from snapkit.store.location import S3Location, is_remote, parse_s3

AWS_ENV = {"AWS_ENDPOINT_URL": "http://minio.lan:9000"}


@pytest.mark.parametrize(
    ("text", "env", "want"),
    [
        ("s3:https://s3.example.com/bucket/snapkit",
         {}, S3Location("bucket", "snapkit", "https://s3.example.com")),
        ("s3:http://127.0.0.1:9000/bkt/a/b/c/",
         {}, S3Location("bkt", "a/b/c", "http://127.0.0.1:9000")),
        ("s3:http://127.0.0.1:9000/bkt",
         {}, S3Location("bkt", "", "http://127.0.0.1:9000")),
        ("s3:s3.example.com:8443/bkt//x",  # no scheme: https
         {}, S3Location("bkt", "x", "https://s3.example.com:8443")),
        ("s3://my.bucket-1/backups/laptop", {}, S3Location("my.bucket-1", "backups/laptop")),
        ("s3://bkt", {}, S3Location("bkt", "")),
        ("s3://bkt/p", AWS_ENV, S3Location("bkt", "p", "http://minio.lan:9000")),
        ("s3://bkt/p", {"AWS_ENDPOINT_URL_S3": "https://r2.example", **AWS_ENV},
         S3Location("bkt", "p", "https://r2.example")),
    ],
)
def test_parse(text: str, env: dict[str, str], want: S3Location) -> None:
    got = parse_s3(text, env)
    assert (got.bucket, got.prefix, got.endpoint) == (want.bucket, want.prefix, want.endpoint)
    assert is_remote(text)
    # The shown form parses to the same place: it is what error messages tell users to type.
    again = parse_s3(str(got), env)
    assert (again.bucket, again.prefix, again.endpoint) == (got.bucket, got.prefix, got.endpoint)


def test_shown_form_is_normalized() -> None:
    assert str(parse_s3("s3:http://h:1//bkt//a//b/", {})) == "s3:http://h:1/bkt/a/b"
    assert str(parse_s3("s3://bkt/a/", {})) == "s3://bkt/a"
    assert str(S3Location("bkt", "p", "https://h")) == "s3:https://h/bkt/p"
    assert str(S3Location("bkt")) == "s3://bkt"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("s3:", "cannot parse"),
        ("s3://", "names no bucket"),
        ("s3:https://host", "names no bucket"),
        ("s3:https://host/ab", "invalid S3 bucket name 'ab'"),
        ("s3://" + "b" * 64, "invalid S3 bucket name"),
        ("s3://-bucket", "invalid S3 bucket name"),
        ("s3://bu..cket", "invalid S3 bucket name"),
        ("s3://bucket/../x", "'..'"),
        ("s3:ftp://host/bucket", "cannot parse"),
        ("s3:https://user:pw@host/bucket", "must not hold credentials"),
        ("s3:https://host/bucket?x=1", "must not hold credentials"),
    ],
)
def test_bad_locations_are_usage_errors(text: str, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_s3(text, {})
    assert needle in info.value.message


@pytest.mark.parametrize("text", ["/srv/repo", "repo", "~/x", "./s3:odd", "s3"])
def test_anything_else_is_a_local_path(text: str) -> None:
    assert not is_remote(text)
    backend = backend_for(text)
    assert isinstance(backend, LocalBackend)
    assert backend.root == Path(text)


def test_a_path_object_is_always_local() -> None:
    assert not is_remote(Path("s3:/x"))
