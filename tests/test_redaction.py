"""Secrets in repository URLs are never printed (issue 11, item 9).

An ``s3:`` URL may carry an access key and secret (``s3:https://KEY:SECRET@host/bucket``) or a
presigned-style query (``?X-Amz-Credential=…&X-Amz-Signature=…``). snapkit refuses both (the
credentials come from the AWS variables), and every line it prints — errors, notices, ``where``,
JSON, ``-v`` tracebacks — shows such a URL with the secrets replaced by ``***`` and the host
kept, so the user still sees which repository is meant. The CLI runs for real against an
endpoint where nothing listens.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CliResult, cli_env, invoke_main, make_tree
from s3server import free_port

from snapkit.store.location import redact

KEY = "AKIAEXAMPLEKEY0123456"
SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYsecret0123"
SIG = "f00dfacecafe0123456789abcdef0123456789abcdef0123456789abcdef0123"
TOKEN = "FwoGZXIvYXdzEXAMPLEsessiontoken"
SECRETS = (KEY, SECRET, SIG, TOKEN)
QUERY = (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={KEY}%2F20261120%2Fus-east-1"
         f"%2Fs3%2Faws4_request&X-Amz-Signature={SIG}&X-Amz-Security-Token={TOKEN}")


def urls(port: int) -> list[str]:
    host = f"127.0.0.1:{port}"
    return [
        f"s3:http://{KEY}:{SECRET}@{host}/bucket/prefix",
        f"s3:https://{KEY}:{SECRET}@{host}/bucket",
        f"s3:{KEY}:{SECRET}@{host}/bucket/prefix",  # no scheme: https
        f"s3:http://{host}/bucket/prefix?{QUERY}",
        f"s3://{KEY}:{SECRET}@bucket/prefix",
        f"s3://bucket/prefix?{QUERY}",
        f"s3://bucket?X-Amz-Signature={SIG}",
    ]


def assert_clean(out: CliResult, *shown: str) -> None:
    text = out.text + out.stderr
    for secret in SECRETS:
        assert secret not in text, (secret, text)
    for s in shown:
        assert s in text, (s, text)


# ------------------------------------------------------------------------------- pure


@pytest.mark.parametrize("url", urls(9000))
def test_redact_hides_every_secret_and_keeps_the_place(url: str) -> None:
    shown = redact(url)
    assert not any(s in shown for s in SECRETS), shown
    assert "bucket" in shown and "***" in shown
    if "127.0.0.1" in url:
        assert "127.0.0.1:9000" in shown
    assert redact(f"error: cannot use {url!r} (see --help)").startswith("error: cannot use '")


@pytest.mark.parametrize("text", [
    "s3:https://s3.example.com/bucket/snapkit", "s3://bkt/a", "/home/me/repo",
    "no repository at s3:http://127.0.0.1:9000/bkt/p; create it", "user@host:/path",
])
def test_redact_leaves_urls_without_secrets_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_endpoint_url() -> None:
    assert redact(f"cannot reach S3 endpoint http://{KEY}:{SECRET}@10.0.0.1:9000: refused") == (
        "cannot reach S3 endpoint http://***@10.0.0.1:9000: refused")


# ------------------------------------------------------------------------------- the CLI


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {k: v for k, v in cli_env(tmp_path).items() if not k.startswith("AWS_")}


@pytest.mark.parametrize("verbose", [[], ["-v"]])
@pytest.mark.parametrize("index", range(len(urls(1))))
def test_commands_never_print_the_secret(tmp_path: Path, env: dict[str, str], index: int,
                                         verbose: list[str]) -> None:
    port = free_port()  # nothing listens there
    url = urls(port)[index]
    src = make_tree(tmp_path / "src", {"a": b"a"})
    shown = [f"127.0.0.1:{port}"] if "127.0.0.1" in url else ["bucket"]
    for args in (["snapshots"], ["init"], ["snap", str(src)], ["check"],
                 ["forget", "--keep-last", "1"], ["restore", "latest", "-t", str(tmp_path)],
                 ["snapshots", "--json"]):
        out = invoke_main([*verbose, *args, "--repo", url], env)
        assert out.code == 2, (args, out.code, out.stderr)
        if not verbose:
            assert len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "must not hold credentials" in out.stderr
        assert_clean(out, *shown)
    # The same from the environment, and before the command.
    out = invoke_main([*verbose, "snapshots"], {**env, "SNAPKIT_REPO": url})
    assert out.code == 2
    assert_clean(out, *shown)
    for args in (["where"], ["where", "--json"]):
        out = invoke_main([*verbose, "--repo", url, *args], env)
        assert out.code == 0, out.stderr
        assert_clean(out, *shown)


def test_endpoint_from_the_environment_is_redacted(env: dict[str, str]) -> None:
    pytest.importorskip("boto3")
    port = free_port()
    endpoint = f"http://{KEY}:{SECRET}@127.0.0.1:{port}"
    aws = {**env, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "s"}
    for verbose in ([], ["-v"]):
        out = invoke_main([*verbose, "snapshots", "--repo", "s3://bucket/p"], aws)
        assert out.code == 10, out.stderr
        assert_clean(out, f"127.0.0.1:{port}", "cannot reach S3 endpoint")
