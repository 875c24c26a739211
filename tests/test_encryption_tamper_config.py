"""An encrypted repository's config altered by whoever can write the store (issue 15): a plain
(version-1) config put in its place is refused, never written to in plain, and `repair config`
writes it again sealed from the key files; a config that fails its MAC names `repair config`,
which then works; the local cache remembers the repository as encrypted, so a plain config is
refused even once keys/ is gone too. Locally and on S3 (the real rclone server).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import invoke_own_passphrase as invoke
from helpers import make_tree, one_line_error, plain_only
from s3server import S3Server

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.store.repository import Repository

PASSWORD = "tamper-test passphrase"
MARKER = b"SecretMarker-of-the-tamper-test-51c3"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's environment; its cache (and this process's) below tmp_path."""
    cache = str(tmp_path / "cache")
    monkeypatch.setenv("SNAPKIT_CACHE_DIR", cache)
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"), "SNAPKIT_CACHE_DIR": cache,
            "OPENCLAW_STATE_DIR": str(tmp_path / "no-openclaw"),
            "SNAPKIT_REPO": str(tmp_path / "repo")}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src", {"secret.txt": MARKER + os.urandom(2048), "a": b"x\n"})


def with_password(env: dict[str, str]) -> dict[str, str]:
    return {**env, "SNAPKIT_PASSWORD": PASSWORD}


def encrypted_with_a_snapshot(env: dict[str, str], src: Path) -> Path:
    """An encrypted repository (fast key derivation) at $SNAPKIT_REPO with one snapshot."""
    repo = Path(env["SNAPKIT_REPO"])
    Repository.init(repo, passphrase=PASSWORD.encode(), kdf=KdfParams(MIN_SCRYPT_N,
                                                                         os.urandom(16)))
    out = invoke(["snap", str(src)], with_password(env))
    assert out.code == 0, out.stderr
    return repo


def downgraded(config: bytes) -> bytes:
    """The config edited to a version-1 plain one (the attack of the new-user trial)."""
    doc = json.loads(config)
    doc["version"] = 1
    del doc["encryption"], doc["mac"]
    doc["hash"] = "xxh3-128"
    return json.dumps(doc, indent=2).encode()


def store_files(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and p.relative_to(repo).parts[0] != "locks"}


# --------------------------------------------------------------------------- downgrade


def test_a_plain_config_where_key_files_are_is_refused_and_nothing_is_written(
        env: dict[str, str], src: Path) -> None:
    repo = encrypted_with_a_snapshot(env, src)
    (repo / "config").write_bytes(downgraded((repo / "config").read_bytes()))
    before = store_files(repo)
    for args in (["snap", str(src)], ["snapshots"], ["restore", "latest", "--target",
                                                      str(repo.parent / "t")], ["check"]):
        for e in (env, with_password(env)):
            one_line_error(invoke(args, e), 1, "config of", "was altered (tampered with)",
                           "not encrypted, but keys/ holds key files",
                           "`snapkit repair config`", "restore it from a copy")
    assert store_files(repo) == before  # nothing written, the config not rewritten
    assert not (repo.parent / "t").exists()
    assert not any(MARKER in data for data in before.values())


def test_repair_config_writes_a_downgraded_config_again_sealed_keeping_its_id(
        env: dict[str, str], src: Path) -> None:
    repo = encrypted_with_a_snapshot(env, src)
    original = json.loads((repo / "config").read_bytes())
    (repo / "config").write_bytes(downgraded((repo / "config").read_bytes()))
    one_line_error(invoke(["repair", "config"], env), 12, "encrypted")  # needs the passphrase
    out = invoke(["repair", "config"], with_password(env))
    assert out.code == 0, out.stderr
    assert "not encrypted, but keys/ holds key files" in out.stdout
    assert "version-1 defaults" not in out.stderr
    config = json.loads((repo / "config").read_bytes())
    assert config == original  # the same id and creation time (this machine saw them), sealed
    out = invoke(["check", "--read-data"], with_password(env))
    assert out.code == 0, (out.stdout, out.stderr)
    one_line_error(invoke(["snapshots"], env), 12, "encrypted")
    assert invoke(["snap", str(src)], with_password(env)).code == 0
    assert not any(MARKER in data for data in store_files(repo).values())


def test_the_local_cache_refuses_a_plain_config_once_the_key_files_are_gone_too(
        env: dict[str, str], src: Path, tmp_path: Path) -> None:
    repo = encrypted_with_a_snapshot(env, src)
    (repo / "config").write_bytes(downgraded((repo / "config").read_bytes()))
    shutil.rmtree(repo / "keys")
    before = store_files(repo)
    one_line_error(invoke(["snap", str(src)], env), 1, "was altered (tampered with)",
                   "this machine has opened it encrypted before",
                   "restore the config and keys/ from a copy")
    one_line_error(invoke(["repair", "config"], with_password(env)), 1,
                   "was encrypted when this machine last opened it", "key files are gone")
    # a config replaced by garbage too: no config to go by, the location is remembered
    (repo / "config").write_bytes(b"not a config")
    one_line_error(invoke(["snap", str(src)], env), 1, "was encrypted when this machine last "
                   "opened it", "key files are gone", "restore keys/ and the config")
    one_line_error(invoke(["repair", "config"], env), 1, "key files are gone")
    (repo / "config").unlink()
    one_line_error(invoke(["snap", str(src)], env), 1, "key files are gone")
    assert store_files(repo) == {k: v for k, v in before.items() if k != "config"}


def test_a_fresh_client_refuses_a_plain_config_whose_index_files_are_sealed(
        env: dict[str, str], src: Path, tmp_path: Path) -> None:
    """No key files and no memory of the repository (another machine): the sealed index files
    give it away when a command reads the index (a snap does, before it writes)."""
    repo = encrypted_with_a_snapshot(env, src)
    assert invoke(["snap", str(make_tree(tmp_path / "more", {"b": b"b\n"}))],
                  with_password(env)).code == 0  # (two index files)
    (repo / "config").write_bytes(downgraded((repo / "config").read_bytes()))
    shutil.rmtree(repo / "keys")
    before = store_files(repo)
    fresh = {**env, "SNAPKIT_CACHE_DIR": str(tmp_path / "fresh-cache")}
    out = invoke(["snap", str(src)], fresh)
    assert out.code == 1, out.stderr
    assert "its index files are sealed (encrypted): the config was altered" in out.stderr
    assert store_files(repo) == before
    assert not any(MARKER in data for data in store_files(repo).values())


def test_a_new_repository_where_an_encrypted_one_was_is_not_refused(
        env: dict[str, str], src: Path) -> None:
    """``init`` forgets what was remembered of its place: a plain repository made there
    after the encrypted one was deleted is used (no false alarm)."""
    repo = encrypted_with_a_snapshot(env, src)
    shutil.rmtree(repo)
    out = invoke(["init", "--encryption", "none"], env)
    assert out.code == 0, out.stderr
    if Repository.open(repo).cipher.encrypted:  # (the encrypted test mode encrypts it)
        return
    out = invoke(["snap", str(src)], env)
    assert out.code == 0, out.stderr


# --------------------------------------------------------------------------- the MAC


def test_a_config_failing_its_mac_names_repair_config_which_works(
        env: dict[str, str], src: Path) -> None:
    repo = encrypted_with_a_snapshot(env, src)
    original = json.loads((repo / "config").read_bytes())
    text = (repo / "config").read_text()
    assert '"zstd_level": 3' in text
    (repo / "config").write_text(text.replace('"zstd_level": 3', '"zstd_level": 9'))
    for args in (["snapshots"], ["snap", str(src)], ["check"]):
        one_line_error(invoke(args, with_password(env)), 1, "was altered (its MAC",
                       "run `snapkit repair config`")
    out = invoke(["repair", "config", "--dry-run"], with_password(env))
    assert out.code == 0, out.stderr
    assert json.loads((repo / "config").read_text())["zstd_level"] == 9  # (a dry run)
    out = invoke(["repair", "config"], with_password(env))
    assert out.code == 0, out.stderr
    assert "MAC under the repository key does not match" in out.stdout
    assert json.loads((repo / "config").read_bytes()) == original
    out = invoke(["check", "--read-data"], with_password(env))
    assert out.code == 0, (out.stdout, out.stderr)
    out = invoke(["repair", "config"], with_password(env))
    assert out.code == 0 and "nothing to do" in (out.stdout + out.stderr).lower(), out.stdout


def test_without_the_cache_repair_config_gives_an_altered_config_a_new_id(
        env: dict[str, str], src: Path, tmp_path: Path) -> None:
    repo = encrypted_with_a_snapshot(env, src)
    original = json.loads((repo / "config").read_bytes())
    text = (repo / "config").read_text()
    (repo / "config").write_text(text.replace('"zstd_level": 3', '"zstd_level": 9'))
    fresh = {**with_password(env), "SNAPKIT_CACHE_DIR": str(tmp_path / "fresh-cache")}
    out = invoke(["repair", "config"], fresh)
    assert out.code == 0, out.stderr
    config = json.loads((repo / "config").read_bytes())
    assert config["id"] != original["id"] and config["zstd_level"] == 3
    assert invoke(["check"], fresh).code == 0


def test_a_missing_config_of_an_encrypted_repository_is_worded_truthfully(
        env: dict[str, str], src: Path) -> None:
    repo = encrypted_with_a_snapshot(env, src)
    original_id = json.loads((repo / "config").read_bytes())["id"]
    (repo / "config").unlink()
    out = invoke(["snapshots"], with_password(env))
    assert out.code == 0, out.stderr
    assert "version-1 defaults" not in out.stderr
    assert "the repository is encrypted: opened through its key files" in out.stderr
    assert "`snapkit repair config`" in out.stderr
    one_line_error(invoke(["snapshots"], env), 12, "encrypted")
    out = invoke(["repair", "config"], with_password(env))
    assert out.code == 0, out.stderr
    config = json.loads((repo / "config").read_bytes())
    assert config["id"] == original_id and config["version"] == 2  # the id seen here, sealed
    assert invoke(["check"], with_password(env)).code == 0


@plain_only
def test_a_plain_repository_with_a_missing_config_still_reads_with_the_defaults(
        env: dict[str, str], src: Path) -> None:
    repo = Path(env["SNAPKIT_REPO"])
    assert invoke(["init", "--encryption", "none"], env).code == 0
    assert invoke(["snap", str(src)], env).code == 0
    (repo / "config").unlink()
    out = invoke(["snapshots"], env)
    assert out.code == 0 and "version-1 defaults" in out.stderr, out.stderr


# --------------------------------------------------------------------------- on S3


def encrypted_on_s3(env: dict[str, str], s3_server: S3Server,
                    monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, str]]:
    """A new encrypted repository at ``p`` in a new bucket (this process reaches the server
    too): the bucket and the CLI's environment naming the repository."""
    for k, v in s3_server.env().items():
        monkeypatch.setenv(k, v)
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket, "p")
    Repository.init(loc, passphrase=PASSWORD.encode(),
                    kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    return bucket, {**env, **s3_server.env(), "SNAPKIT_REPO": loc}


def test_on_s3_a_plain_config_uploaded_over_an_encrypted_one_is_refused_and_repaired(
        tmp_path: Path, env: dict[str, str], s3_server: S3Server, src: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bucket, env = encrypted_on_s3(env, s3_server, monkeypatch)
    assert invoke(["snap", str(src)], with_password(env)).code == 0
    client = s3_server.client()
    original = client.get_object(Bucket=bucket, Key="p/config")["Body"].read()
    client.put_object(Bucket=bucket, Key="p/config", Body=downgraded(original))
    before = sorted(s3_server.keys(bucket))
    one_line_error(invoke(["snap", str(src)], env), 1, "was altered (tampered with)",
                   "keys/ holds key files")
    assert [k for k in sorted(s3_server.keys(bucket)) if "/locks/" not in k] == \
        [k for k in before if "/locks/" not in k]
    out = invoke(["repair", "config"], with_password(env))
    assert out.code == 0, out.stderr
    assert json.loads(client.get_object(Bucket=bucket, Key="p/config")["Body"].read()) == \
        json.loads(original)
    # keys/ gone too: this machine still knows the bucket was encrypted
    client.put_object(Bucket=bucket, Key="p/config", Body=downgraded(original))
    for key in s3_server.keys(bucket):
        if key.startswith("p/keys/"):
            client.delete_object(Bucket=bucket, Key=key)
    one_line_error(invoke(["snap", str(src)], env), 1,
                   "this machine has opened it encrypted before")
    for key in s3_server.keys(bucket):
        if not key.startswith("p/locks/"):
            assert MARKER not in client.get_object(Bucket=bucket, Key=key)["Body"].read(), key


def test_on_s3_a_key_file_without_a_config_opens_encrypted_and_repairs(
        tmp_path: Path, env: dict[str, str], s3_server: S3Server,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What an ``init`` killed between its key file and its config leaves on S3."""
    bucket, env = encrypted_on_s3(env, s3_server, monkeypatch)
    client = s3_server.client()
    original = json.loads(client.get_object(Bucket=bucket, Key="p/config")["Body"].read())
    client.delete_object(Bucket=bucket, Key="p/config")
    one_line_error(invoke(["init"], with_password(env)), 2,
                   "holds a repository whose config is missing", "snapkit repair config")
    out = invoke(["snapshots"], with_password(env))
    assert out.code == 0 and "opened through its key files" in out.stderr, out.stderr
    out = invoke(["repair", "config"], with_password(env))
    assert out.code == 0, out.stderr
    config = json.loads(client.get_object(Bucket=bucket, Key="p/config")["Body"].read())
    assert config["id"] == original["id"] and config["version"] == 2
    assert invoke(["check"], with_password(env)).code == 0
