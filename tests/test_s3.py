"""Repositories on S3: the CLI end to end against a real S3 server (``rclone serve s3`` on
loopback, see ``tests/s3server.py``), a killed ``snap``, prune's age guard through
``modified``, and the one-line errors for wrong credentials, a dead endpoint and no boto3.

The backend operations themselves are covered by ``tests/store/test_backend_conformance.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import (
    ENCRYPTED_MODE,
    CliResult,
    File,
    assert_trees_equal,
    cli_env,
    describe,
    init_repo,
    invoke_main,
    make_tree,
    popen_snapkit,
    restore,
    restored,
    run_snapkit,
    take,
    wait_for,
)
from s3server import S3Server, free_port

from snapkit.format.model import encode_lock
from snapkit.maintain.check import check_repository
from snapkit.maintain.prune import execute_prune, plan_prune
from snapkit.store.pack import PackBuilder
from snapkit.store.repository import Repository

MiB = 1024 * 1024
LAYOUT = re.compile(r"config|packs/([0-9a-f]{2})/\1[0-9a-f]{30}"
                    r"|(index|snapshots|locks)/[0-9a-f]{32}")
#: An encrypted repository's key files (every repository in the encrypted test mode).
KEYS = re.compile(r"keys/[0-9a-f]{32}")


Out = CliResult


def invoke(args: Sequence[str], env: dict[str, str]) -> Out:
    """The real entry point ``main()`` in-process, in click's isolation (as in test_cli)."""
    return invoke_main(args, env, clear_prefixes=("SNAPKIT_", "AWS_"))


def assert_one_line_error(out: Out, code: int, *needles: str) -> None:
    assert out.code == code, (out.code, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("snapkit: error: "), lines[0]
    assert "Traceback" not in out.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def s3_env(tmp: Path, server: S3Server, **extra: str) -> dict[str, str]:
    """An isolated snapkit environment (HOME, XDG dirs) with the server's credentials only."""
    env = {k: v for k, v in cli_env(tmp).items() if not k.startswith("AWS_")}
    env.update(server.env())
    env.update(extra)
    return env


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, s3_server: S3Server) -> S3Server:
    """The server's credentials in this process's environment (for library calls)."""
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    for k, v in s3_server.env().items():
        monkeypatch.setenv(k, v)
    return s3_server


@pytest.fixture
def src(tmp_path: Path) -> Path:
    rng = random.Random(7)
    return make_tree(tmp_path / "src", {
        "config.json": File(b'{"gateway": {}}\n', mode=0o600, mtime_ns=1_700_000_000 * 10**9),
        "sessions/s1.jsonl": b'{"role": "user"}\n' * 5000,
        "media/big.bin": rng.randbytes(3 * MiB + 17),
        "media/other.bin": rng.randbytes(200_000),
        "empty": b"",
    })


# --------------------------------------------------------------------------- the CLI


def test_cli_end_to_end_on_s3(tmp_path: Path, s3_server: S3Server, src: Path) -> None:
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket, "backups/laptop")
    env = s3_env(tmp_path, s3_server)

    # the bucket does not exist yet: created (plain: S3 is encrypted by default)
    out = invoke(["init", "--repo", loc, "--encryption", "none"], env)
    assert out.code == 0, out.stderr
    assert f"at {loc}" in out.stdout
    out = invoke(["snap", str(src), "--tag", "first", "--repo", loc], env)
    assert out.code == 0, out.stderr
    assert "Files:       5 new" in out.stdout
    first = describe(src)
    (src / "config.json").write_bytes(b'{"gateway": {"port": 1}}\n')
    (src / "media" / "other.bin").unlink()
    out = invoke(["snap", str(src), "--repo", loc], env)
    assert out.code == 0, out.stderr
    assert "parent" in out.stdout

    out = invoke(["snapshots", "--json", "--repo", loc], env)
    assert out.code == 0, out.stderr
    rows = json.loads(out.stdout.splitlines()[0])
    assert [r["tags"] for r in rows] == [["first"], []]

    out = invoke(["restore", "first", "--target", str(tmp_path / "r1"), "--repo", loc], env)
    assert out.code == 0, out.stderr
    assert_trees_equal(first, restored(tmp_path / "r1", src))

    archive = tmp_path / "latest.tar.gz"
    out = invoke(["export", "latest", "-o", str(archive), "--repo", loc], env)
    assert out.code == 0, out.stderr
    assert invoke(["verify-archive", str(archive)], env).code == 0
    with tarfile.open(archive) as tar:
        member = tar.extractfile(str(src / "media" / "big.bin").lstrip("/"))
        assert member is not None
        assert member.read() == (src / "media" / "big.bin").read_bytes()

    out = invoke(["check", "--read-data", "--repo", loc], env)
    assert out.code == 0, out.stderr

    out = invoke(["forget", "--keep-last", "1", "--prune", "--repo", loc], env)
    assert out.code == 0, out.stderr
    out = invoke(["snapshots", "--json", "--repo", loc], env)
    assert len(json.loads(out.stdout.splitlines()[0])) == 1
    assert invoke(["check", "--read-data", "--repo", loc], env).code == 0
    out = invoke(["restore", "latest", "--target", str(tmp_path / "r2"), "--repo", loc], env)
    assert out.code == 0, out.stderr
    assert_trees_equal(src, restored(tmp_path / "r2", src))

    # Every object is where docs/format.md puts it, below the prefix; no temp objects, no lock.
    keys = s3_server.keys(bucket)
    assert keys
    for key in keys:
        assert key.startswith("backups/laptop/"), key
        name = key.removeprefix("backups/laptop/")
        assert LAYOUT.fullmatch(name) or (ENCRYPTED_MODE and KEYS.fullmatch(name)), key
    assert any(k.startswith("backups/laptop/keys/") for k in keys) == ENCRYPTED_MODE
    assert not [k for k in keys if "/locks/" in k]


def test_first_snap_asks_for_init_which_creates_bucket_and_repository(
    tmp_path: Path, s3_server: S3Server, src: Path
) -> None:
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket)  # the bucket's root
    env = s3_env(tmp_path, s3_server, SNAPKIT_REPO=loc)
    # S3 is encrypted by default, so the first snap does not create a repository by itself
    out = invoke(["snap", str(src)], env)
    assert_one_line_error(out, 10, f"no repository at {loc}", f"snapkit init --repo {loc}")
    assert bucket not in {b["Name"] for b in s3_server.client().list_buckets()["Buckets"]}
    out = invoke(["init", "--encryption", "none"], env)
    assert out.code == 0, out.stderr
    out = invoke(["snap", str(src)], env)
    assert out.code == 0 and out.stderr == "", out.stderr
    out = invoke(["snap", str(src)], env)
    assert out.code == 0 and out.stderr == "", out.stderr
    assert "config" in s3_server.keys(bucket)
    # init refuses a bucket that already holds a repository.
    assert_one_line_error(invoke(["init"], env), 2, f"a repository already exists at {loc}")


def test_a_locked_repository_names_the_lock_object(
    tmp_path: Path, s3_server: S3Server, aws: S3Server, src: Path
) -> None:
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket, "r")
    repo = Repository.init(loc)
    info = {"host": "elsewhere", "pid": 1, "time": time.time(), "exclusive": True,
            "operation": "prune"}
    repo.backend.save("locks", "e" * 32, repo.cipher.seal(encode_lock(info), "lock"))
    out = invoke(["snap", str(src), "--repo", loc], s3_env(tmp_path, s3_server))
    assert_one_line_error(out, 11, f"remove {loc}/locks/{'e' * 32}")


# --------------------------------------------------------------------------- errors


def test_wrong_credentials_one_line_exit_10(
    tmp_path: Path, s3_server: S3Server, aws: S3Server, src: Path
) -> None:
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket, "p")
    Repository.init(loc)
    bad = s3_env(tmp_path, s3_server, AWS_SECRET_ACCESS_KEY="not-the-secret-0123456789")
    for args in (["snapshots"], ["snap", str(src)], ["check"]):
        out = invoke([*args, "--repo", loc], bad)
        assert_one_line_error(out, 10, f"S3 access denied for bucket {bucket}",
                              "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    unknown = s3_env(tmp_path, s3_server, AWS_ACCESS_KEY_ID="nobody-knows-this-key")
    new_bucket = s3_server.new_bucket()
    out = invoke(["init", "--repo", s3_server.location(new_bucket)], unknown)
    assert_one_line_error(out, 10, f"S3 access denied for bucket {new_bucket}")
    assert new_bucket not in {b["Name"] for b in s3_server.client().list_buckets()["Buckets"]}


def test_no_credentials_one_line_exit_10(tmp_path: Path, s3_server: S3Server) -> None:
    env = s3_env(tmp_path, s3_server)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    loc = s3_server.location(s3_server.new_bucket())
    out = invoke(["snapshots", "--repo", loc], env)
    assert_one_line_error(out, 10, "no S3 credentials", "AWS_ACCESS_KEY_ID")


def test_unreachable_endpoint_one_line_no_traceback(tmp_path: Path, s3_server: S3Server,
                                                    src: Path) -> None:
    port = free_port()  # nothing listens there
    loc = f"s3:http://127.0.0.1:{port}/bucket/prefix"
    env = s3_env(tmp_path, s3_server)
    started = time.monotonic()
    for args in (["snapshots"], ["snap", str(src)], ["init"]):
        out = invoke([*args, "--repo", loc], env)
        assert_one_line_error(out, 10, f"cannot reach S3 endpoint http://127.0.0.1:{port}",
                              "Connection refused")
    assert time.monotonic() - started < 60
    # As a real process too: nothing but the one line on stderr.
    p = run_snapkit(["snapshots", "--repo", loc], env)
    assert p.returncode == 10
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr


def test_missing_repository_on_s3_exit_10(tmp_path: Path, s3_server: S3Server) -> None:
    env = s3_env(tmp_path, s3_server)
    for loc in (s3_server.location(s3_server.new_bucket(), "p"),  # no such bucket
                s3_server.location(s3_server.new_bucket())):
        out = invoke(["snapshots", "--repo", loc], env)
        assert_one_line_error(out, 10, f"no repository at {loc}", f"snapkit init --repo {loc}")


def test_bad_location_is_a_usage_error(tmp_path: Path, s3_server: S3Server) -> None:
    env = s3_env(tmp_path, s3_server)
    out = invoke(["snapshots", "--repo", "s3:https://host/x"], env)
    assert_one_line_error(out, 2, "invalid S3 bucket name 'x'")
    # S3's rules (which the server would apply later): lowercase, no '_', not an IP address
    for bucket in ("Bad_Bucket", "UPPER", "under_score", "192.168.1.20"):
        loc = s3_server.location(bucket, "y")
        for args in (["init", "--repo", loc], ["snapshots", "--repo", loc],
                     ["copy", "--repo", str(tmp_path / "nowhere"), "--to", loc]):
            assert_one_line_error(invoke(args, env), 2, f"invalid S3 bucket name {bucket!r}")
    assert not (tmp_path / "nowhere").exists()


def test_without_boto3(tmp_path: Path, s3_server: S3Server,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 -> ImportError
    out = invoke(["snapshots", "--repo", s3_server.location("some-bucket")],
                 s3_env(tmp_path, s3_server))
    assert_one_line_error(out, 2, "the S3 backend needs boto3: pip install 'snapkit[s3]'")
    # snapkit itself never imports boto3 unless an S3 repository is used.
    code = ("import sys, snapkit.cli.main, snapkit.store.repository, snapkit.maintain.prune; "
            "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- killed snap


def _keys(server: S3Server, bucket: str, part: str) -> set[str]:
    return {k for k in server.keys(bucket) if f"/{part}/" in k}


def test_killed_snap_keeps_earlier_snapshots_restorable(
    tmp_path: Path, s3_server: S3Server, aws: S3Server
) -> None:
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket, "repo")
    init_repo(loc, pack_size=1 * MiB)  # type: ignore[arg-type]  # many packs to be killed at
    env = s3_env(tmp_path, s3_server, SNAPKIT_REPO=loc)
    rng = random.Random(11)
    small = make_tree(tmp_path / "small", {"a.txt": b"a", "d/b.bin": rng.randbytes(300_000)})
    out = run_snapkit(["snap", "-q", str(small)], env)
    assert out.returncode == 0, out.stderr
    expected = {out.stdout.strip(): (small, describe(small))}
    big = make_tree(tmp_path / "big", {f"f{i:02d}.bin": rng.randbytes(2 * MiB) for i in range(12)})

    kills = 0
    for n, point in enumerate(("pack", 0.3, "index", "pack")):
        (big / f"round-{n}.bin").write_bytes(rng.randbytes(4 * MiB))  # new data every round
        state = describe(big)
        before = set(Repository.open(loc).snapshot_ids())
        packs0, index0 = _keys(s3_server, bucket, "packs"), _keys(s3_server, bucket, "index")
        p = popen_snapkit(["snap", "-q", str(big)], env)
        try:
            if isinstance(point, float):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=point)
            else:
                part, seen = ("packs", packs0) if point == "pack" else ("index", index0)
                wait_for(lambda: p.poll() is not None  # noqa: B023
                         or bool(_keys(s3_server, bucket, part) - seen),  # noqa: B023
                         timeout=60, interval=0.005)
            p.send_signal(signal.SIGKILL)
        finally:
            _, err = p.communicate(timeout=60)
        assert p.returncode in (0, -signal.SIGKILL), (p.returncode, err)
        kills += p.returncode == -signal.SIGKILL
        repo = Repository.open(loc)
        after = set(repo.snapshot_ids())
        assert before <= after and len(after - before) <= 1, point
        for new in after - before:
            expected[new] = (big, state)
        report = check_repository(repo, read_data=True)
        assert report.ok, report.errors
        for sid, (source, desc) in expected.items():
            if source == small or sid in after - before:
                target = tmp_path / f"r-{n}-{sid[:8]}"
                restore(repo, sid, target)
                assert_trees_equal(desc, restored(target, source))
    assert kills >= 2  # the kills really hit running snapshots

    out = run_snapkit(["snap", "-q", str(big)], env)  # removes the killed runs' stale locks
    assert out.returncode == 0, out.stderr
    assert _keys(s3_server, bucket, "locks") == set()
    repo = Repository.open(loc)
    assert check_repository(repo, read_data=True).ok
    restore(repo, out.stdout.strip(), tmp_path / "final")
    assert_trees_equal(big, restored(tmp_path / "final", big))


# --------------------------------------------------------------------------- prune on S3


def test_prune_ages_stray_packs_by_the_object_time(
    tmp_path: Path, s3_server: S3Server, aws: S3Server, src: Path
) -> None:
    bucket = s3_server.new_bucket()
    repo = Repository.init(s3_server.location(bucket, "p"))
    take(repo, src)
    builder = PackBuilder()
    builder.add(0, "ab" * 16, b"\x00stray", 5)
    stray, data, _ = builder.finish()
    repo.backend.save("packs", stray, data)  # as left by a killed snap: no index lists it

    # While another process (a snap on some host) holds a lock, a fresh stray pack may be
    # its own: kept, aged by the object's LastModified.
    info = {"host": "another-host", "pid": 4242, "time": time.time(),
            "refreshed": time.time(), "exclusive": False, "operation": "snap"}
    repo.backend.save("locks", "c" * 32, repo.cipher.seal(encode_lock(info), "lock"))
    plan = plan_prune(repo)
    assert [f.name for f in plan.unindexed_recent] == [stray]
    age = plan.unindexed_recent[0].age_s
    assert age is not None and 0 <= age < 120
    assert plan.unindexed == ()

    plan = plan_prune(repo, grace_s=0)
    assert [f.name for f in plan.unindexed] == [stray]
    # With no other lock, an orphan goes whatever its age.
    repo.backend.remove("locks", "c" * 32)
    plan = plan_prune(repo)
    assert [f.name for f in plan.unindexed] == [stray]
    execute_prune(repo, plan)
    assert not [k for k in s3_server.keys(bucket) if k.endswith(stray)]
    assert check_repository(repo, read_data=True).ok



def test_check_verifies_the_bucket_not_the_local_cache(tmp_path: Path, s3_server: S3Server,
                                                       src: Path, aws: S3Server) -> None:
    """The local cache keeps good copies of index files and manifests; damage in the bucket
    (what another machine would restore from) must still be found by `check`."""
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket, "laptop")
    env = s3_env(tmp_path, s3_server)
    assert invoke(["init", "--encryption", "none", "--repo", loc], env).code == 0
    assert invoke(["snap", "-q", "--repo", loc, str(src)], env).code == 0
    assert invoke(["check", "--repo", loc], env).code == 0  # every object now cached
    raw = Repository.open(loc).backend.uncached()
    (sid,) = raw.list("snapshots")
    (index,) = raw.list("index")
    raw.save("snapshots", sid, b"garbage")
    raw.save("index", index, b"garbage-index")
    out = invoke(["check", "--repo", loc], env)
    assert out.code == 1, out.stdout
    assert f"snapshot manifest {sid}" in out.stdout and f"index file {index}" in out.stdout
