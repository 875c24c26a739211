"""``snapkit copy`` between repositories whose ids differ: plain to encrypted, encrypted to
plain, encrypted to encrypted under another key. Every snapshot arrives re-keyed (a new id,
its source named as ``original``, its parent mapped) and restores byte for byte with its
metadata; the destination checks clean with ``--read-data``; an encrypted destination holds
no readable content; a second run (and a copy along a chain of repositories) sends nothing;
a killed copy leaves both repositories valid and a rerun finishes; local to an encrypted S3
repository on the real rclone server; the destination's passphrase from its own option and
variables, or the source's, and a wrong one is exit 12 naming the destination.

In the encrypted test mode (``tests/encrypted_mode.py``) a "plain" repository is encrypted
too (under the test passphrase): every combination is then encrypted to encrypted, and the
assertions about plain bytes are made only where a repository is plain."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from encrypted_mode import PASSPHRASE
from helpers import (
    File,
    Symlink,
    assert_trees_equal,
    cli_env,
    describe,
    invoke_main,
    iter_store_files,
    make_tree,
    restored,
    run_snapkit,
    signal_when,
)
from s3server import S3Server

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.ops.copy import CopyProgressed, copy
from snapkit.ops.events import Event
from snapkit.store.cipher import Sealed
from snapkit.store.repository import Repository

SRC_PW = "passphrase of the source"
DST_PW = "passphrase of the destination"
MARKER = b"KnownPlainContent-copied-re-keyed-5b2e91"
SECRET_NAME = "zebra-credentials-file.json"
MiB = 1024 * 1024
ENCRYPTED_MODE = os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1"
#: A test about plain repositories' bytes or ids (every repository is encrypted in the
#: encrypted test mode).
plain_repositories = pytest.mark.skipif(ENCRYPTED_MODE, reason="needs plain repositories")


def make(path: Path | str, passphrase: str | None, pack_size: int | None = None) -> Repository:
    """A new repository, encrypted under ``passphrase`` (a fast key derivation) if given."""
    repo = (Repository.init(path) if passphrase is None else
            Repository.init(path, passphrase=passphrase.encode(),
                            kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16))))
    if pack_size is not None:  # many packs: a slow, fsynced copy
        cfg = replace(repo.config, pack_size=pack_size)
        if isinstance(repo.cipher, Sealed):
            cfg = replace(cfg, mac=repo.cipher.key.mac(cfg.mac_input()))
        repo.backend.save("config", "config", cfg.to_json())
    return opened(path, passphrase)


def opened(path: Path | str, passphrase: str | None) -> Repository:
    return Repository.open(path, None if passphrase is None else passphrase.encode)


def tree(base: Path, seed: int = 1) -> Path:
    """Files of every kind and size, a secret file, equal subtrees at different depths."""
    rng = random.Random(seed)
    same = {"a.txt": b"the same\n", "sub/b.txt": b"below\n"}
    return make_tree(base, {
        "config.json": File(b'{"gateway": {}}\n', mode=0o600, mtime_ns=1_700_000_000 * 10**9),
        f"d/{SECRET_NAME}": MARKER + rng.randbytes(4096),  # incompressible: stored as it is
        "sessions/s1.jsonl": b'{"role": "user"}\n' * 3000,
        "media/big.bin": rng.randbytes(2 * MiB + 17),
        "media/copy-of-big.bin": b"",
        "link": Symlink("config.json"),
        "empty": b"",
        "x/empty-dir/.keep": b"",
        **{f"one/{k}": v for k, v in same.items()},
        **{f"deep/er/one/{k}": v for k, v in same.items()},
    })


def env_for(tmp: Path, src: Path, passphrase: str | None, **extra: str) -> dict[str, str]:
    env = cli_env(tmp, SNAPKIT_REPO=str(src), **extra)
    if passphrase is not None:
        env["SNAPKIT_PASSWORD"] = passphrase
    return env


def ok(env: dict[str, str], *args: str) -> Any:
    out = invoke_main(list(args), env)
    assert out.code == 0, (args, out.stdout, out.stderr)
    return out


def copied(env: dict[str, str], *args: str) -> dict[str, Any]:
    result: dict[str, Any] = ok(env, "copy", *args, "--json").json()
    return result


def stored_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in iter_store_files(root))


@pytest.mark.parametrize(("src_pw", "dst_pw"), [(None, DST_PW), (SRC_PW, None),
                                                (SRC_PW, DST_PW)],
                         ids=["plain-to-encrypted", "encrypted-to-plain",
                              "encrypted-to-encrypted"])
def test_copy_re_keys_round_trips_and_a_second_run_sends_nothing(
        tmp_path: Path, src_pw: str | None, dst_pw: str | None) -> None:
    src = tree(tmp_path / "src")
    repo, dst = tmp_path / "repo", tmp_path / "dst"
    make(repo, src_pw)
    make(dst, dst_pw)
    env = env_for(tmp_path, repo, src_pw)
    ok(env, "snap", str(src), "--tag", "first", "--symlinks", "record")
    first = describe(src)
    (src / "sessions" / "s1.jsonl").write_bytes(b'{"role": "user"}\n' * 3100)
    (src / "media" / "copy-of-big.bin").write_bytes((src / "media" / "big.bin").read_bytes())
    ok(env, "snap", str(src), "--symlinks", "record")
    to: list[str] = ["--to", str(dst)]
    if ENCRYPTED_MODE and dst_pw is None:  # (the "plain" destination is encrypted too)
        to += ["--to-password-file", str(_pw(tmp_path, PASSPHRASE.decode()))]
    elif dst_pw is not None:
        to += ["--to-password-file", str(_pw(tmp_path, dst_pw))]

    plan = copied(env, *to, "--dry-run")
    result = copied(env, *to)
    assert result["snapshots_copied"] == 2 and not result["damaged"]
    assert (plan["blobs_sent"], plan["bytes_sent"]) == (result["blobs_sent"],
                                                        result["bytes_sent"])
    assert [row["destination_id"] for row in plan["copied"]] == [None, None]  # not written
    s, d = opened(repo, src_pw), opened(dst, dst_pw)
    source = dict(s.snapshots())
    there = dict(d.snapshots())
    assert sorted(snap.original or "" for snap in there.values()) == sorted(source)
    assert not set(there) & set(source)  # new ids: the ids are keyed differently
    new_id = {row["id"]: row["destination_id"] for row in result["copied"]}
    assert set(new_id.values()) == set(there)
    (old, _), (new, newer) = sorted(source.items(), key=lambda p: p[1].time_ns)
    assert newer.parent == old and there[new_id[new]].parent == new_id[old]
    assert there[new_id[new]].tree != newer.tree

    denv = env_for(tmp_path, dst, dst_pw)
    ok(denv, "check", "--read-data")
    ok(denv, "restore", "latest", "--target", str(tmp_path / "t"))
    assert_trees_equal(src, restored(tmp_path / "t", src))
    ok(denv, "restore", "first", "--target", str(tmp_path / "t1"))
    assert_trees_equal(first, restored(tmp_path / "t1", src))

    again = copied(env, *to)  # a second run sends nothing
    assert (again["snapshots_copied"], again["snapshots_skipped"]) == (0, 2)
    assert (again["blobs_sent"], again["bytes_sent"]) == (0, 0)
    at_rest = stored_bytes(dst)
    if d.cipher.encrypted:  # neither content nor names readable at rest
        assert MARKER not in at_rest and SECRET_NAME.encode() not in at_rest
    else:
        assert MARKER in at_rest  # (the search finds content where it is plain)


@plain_repositories
def test_a_chain_of_copies_gives_back_the_same_trees_and_knows_its_snapshots(
        tmp_path: Path) -> None:
    """plain A -> encrypted B -> plain C: C's trees are A's, byte for byte (the same ids); A's
    snapshots are known in C and in B by their ``original``: copying again sends nothing."""
    src = tree(tmp_path / "src")
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    make(a, None)
    make(b, SRC_PW)
    make(c, None)
    env = env_for(tmp_path, a, None)
    ok(env, "snap", str(src))
    (src / "config.json").write_bytes(b'{"gateway": {"port": 1}}\n')
    ok(env, "snap", str(src))
    assert copied(env, "--to", str(b), "--to-password-file", str(_pw(tmp_path, SRC_PW))
                  )["snapshots_copied"] == 2
    benv = env_for(tmp_path, b, SRC_PW)
    assert copied(benv, "--to", str(c))["snapshots_copied"] == 2
    original = dict(opened(a, None).snapshots())
    final = dict(opened(c, None).snapshots())
    assert sorted(s.original or "" for s in final.values()) == sorted(original)
    assert sorted(s.tree for s in final.values()) == sorted(s.tree for s in original.values())
    for_a = copied(env, "--to", str(c))
    assert (for_a["snapshots_copied"], for_a["snapshots_skipped"], for_a["blobs_sent"]) == (
        0, 2, 0)
    back = copied(benv, "--to", str(a))
    assert (back["snapshots_copied"], back["snapshots_skipped"]) == (0, 2)
    assert opened(c, None).snapshot_ids() != sorted(original)  # (C's own manifests)


def _pw(tmp: Path, passphrase: str) -> Path:
    path = tmp / f"pw-{len(passphrase)}"
    path.write_text(passphrase + "\n")
    path.chmod(0o600)  # (else each use warns: keep it 0600)
    return path


def _one_line(out: Any, code: int, *needles: str) -> str:
    assert out.code == code, (out.code, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapkit: error: "), out.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return str(lines[0])


def test_the_destination_passphrase_and_a_wrong_one(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f.txt": b"hello\n"})
    repo, dst = tmp_path / "repo", tmp_path / "dst"
    make(repo, SRC_PW)
    make(dst, DST_PW)
    env = env_for(tmp_path, repo, SRC_PW)
    ok(env, "snap", str(src))
    to = ("copy", "--to", str(dst))

    wrong = invoke_main([*to, "--to-password-file", str(_pw(tmp_path, "not it"))], env)
    line = _one_line(wrong, 12, f"wrong passphrase for the destination {dst}",
                     "--to-password-file")
    assert "Traceback" not in wrong.stderr and SRC_PW not in line
    fallback = invoke_main(list(to), env)  # the source's passphrase does not open it
    _one_line(fallback, 12, f"the destination {dst}", "SNAPKIT_TO_PASSWORD")
    bad_src = invoke_main([*to, "--to-password-file", str(_pw(tmp_path, DST_PW))],
                          {**env, "SNAPKIT_PASSWORD": "not it"})
    _one_line(bad_src, 12, f"wrong passphrase for {repo}")
    unreadable = invoke_main([*to, "--to-password-file", str(tmp_path / "nope")], env)
    _one_line(unreadable, 2, "destination: cannot read the password file")
    failing = invoke_main(list(to), {**env, "SNAPKIT_TO_PASSWORD_COMMAND": "false"})
    _one_line(failing, 2, "SNAPKIT_TO_PASSWORD_COMMAND failed (exit 1)")

    by_var = copied({**env, "SNAPKIT_TO_PASSWORD": DST_PW}, "--to", str(dst))
    assert by_var["snapshots_copied"] == 1
    command = f"{sys.executable} -c \"print('{DST_PW}')\""
    by_command = copied({**env, "SNAPKIT_TO_PASSWORD_COMMAND": command}, "--to", str(dst))
    assert (by_command["snapshots_copied"], by_command["snapshots_skipped"]) == (0, 1)
    make(tmp_path / "same", SRC_PW)  # another key, the source's passphrase: it is used
    assert copied(env, "--to", str(tmp_path / "same"))["snapshots_copied"] == 1


@plain_repositories
def test_no_passphrase_for_an_encrypted_destination_is_exit_12(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f.txt": b"hello\n"})
    make(tmp_path / "repo", None)
    make(tmp_path / "dst", DST_PW)
    env = env_for(tmp_path, tmp_path / "repo", None)
    ok(env, "snap", str(src))
    out = invoke_main(["copy", "--to", str(tmp_path / "dst")], env)
    _one_line(out, 12, f"the destination {tmp_path / 'dst'} is encrypted and no passphrase "
                       "was given for it", "--to-password-file")


def test_a_killed_re_keying_copy_leaves_both_valid_and_a_rerun_finishes(
        tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {
        f"f{i}.bin": random.Random(i).randbytes(3 * MiB) for i in range(8)})
    repo, dst = tmp_path / "repo", tmp_path / "dst"
    make(repo, SRC_PW)
    make(dst, DST_PW, pack_size=64 * 1024)
    env = env_for(tmp_path, repo, SRC_PW, SNAPKIT_TO_PASSWORD=DST_PW)
    ok(env, "snap", str(src))
    packs = dst / "packs"
    code, _ = signal_when(["copy", "--to", str(dst)], env,
                          lambda _: sum(1 for _ in packs.rglob("*")) > 40)
    assert code == -signal.SIGKILL
    assert opened(dst, DST_PW).snapshot_ids() == []  # the manifest comes last
    for where, pw in ((repo, SRC_PW), (dst, DST_PW)):
        out = run_snapkit(["check", "--repo", str(where)], {**env, "SNAPKIT_PASSWORD": pw})
        assert out.returncode == 0, (where, out.stdout, out.stderr)
    rerun = run_snapkit(["copy", "--to", str(dst), "--json"], env, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    again = json.loads(rerun.stdout)
    assert again["snapshots_copied"] == 1
    assert 0 < again["bytes_sent"] < 24 * MiB  # what the killed run indexed is not sent again
    denv = env_for(tmp_path, dst, DST_PW)
    ok(denv, "check", "--read-data")
    ok(denv, "restore", "latest", "--target", str(tmp_path / "t"))
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_copy_local_to_encrypted_s3(tmp_path: Path, s3_server: S3Server,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in s3_server.env().items():  # for the library calls of this test
        monkeypatch.setenv(k, v)
    env = {k: v for k, v in env_for(tmp_path, tmp_path / "repo", None).items()
           if not k.startswith("AWS_")}
    env.update(s3_server.env())
    src = tree(tmp_path / "src")
    make(tmp_path / "repo", None)
    ok(env, "snap", str(src), "--symlinks", "record")
    bucket = s3_server.new_bucket()
    loc = s3_server.location(bucket, "offsite/laptop")
    make(loc, DST_PW)
    to = ("--to", loc, "--to-password-file", str(_pw(tmp_path, DST_PW)))
    result = copied(env, *to)
    assert result["snapshots_copied"] == 1 and result["destination"] == loc
    (row,) = result["copied"]
    assert opened(loc, DST_PW).load_snapshot(row["destination_id"]).original == row["id"]
    senv = {**env, "SNAPKIT_REPO": loc, "SNAPKIT_PASSWORD": DST_PW}
    ok(senv, "check", "--read-data")
    ok(senv, "restore", "latest", "--target", str(tmp_path / "t"))
    assert_trees_equal(src, restored(tmp_path / "t", src))
    again = copied(env, *to)
    assert (again["snapshots_copied"], again["blobs_sent"]) == (0, 0)
    client = s3_server.client()
    for key in s3_server.keys(bucket):
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert MARKER not in body and SECRET_NAME.encode() not in body, key


def test_an_incremental_re_keying_copy_reads_only_the_data_the_parent_lacks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A later run pairs the ids of the parent's copy with the parent's (its trees read in
    both repositories): of the next snapshot only the new file's data is read and hashed."""
    src = tree(tmp_path / "src")
    repo, dst = tmp_path / "repo", tmp_path / "dst"
    make(repo, SRC_PW)
    make(dst, DST_PW)
    env = env_for(tmp_path, repo, SRC_PW, SNAPKIT_TO_PASSWORD=DST_PW)
    ok(env, "snap", str(src), "--symlinks", "record")
    assert copied(env, "--to", str(dst))["snapshots_copied"] == 1
    (src / "media" / "new.bin").write_bytes(random.Random(7).randbytes(300_000))
    ok(env, "snap", str(src), "--symlinks", "record")
    monkeypatch.setenv("SNAPKIT_PASSWORD", SRC_PW)
    monkeypatch.setenv("SNAPKIT_TO_PASSWORD", DST_PW)
    events: list[Event] = []
    result = copy(repo, dst, on_event=events.append, progress_interval=0)
    (done,) = result.copied
    read = [e.progress for e in events if isinstance(e, CopyProgressed)]
    assert read and read[-1].bytes == read[-1].bytes_total == 300_000
    assert done.bytes > 300_000  # and the trees above it
    denv = env_for(tmp_path, dst, DST_PW)
    ok(denv, "check", "--read-data")
    ok(denv, "restore", "latest", "--target", str(tmp_path / "t"))
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_without_its_parent_there_a_snapshot_pairs_with_the_newest_one_copied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots copied selectively (the parent never was): the newest copied snapshot of the
    same host and sources stands for it, and only what that one lacks is read."""
    src = tree(tmp_path / "src")
    repo, dst = tmp_path / "repo", tmp_path / "dst"
    make(repo, SRC_PW)
    make(dst, DST_PW)
    env = env_for(tmp_path, repo, SRC_PW)
    taken = []
    for name, size in (("", 0), ("new1.bin", 300_000), ("new2.bin", 200_000)):
        if name:
            (src / "media" / name).write_bytes(random.Random(size).randbytes(size))
        out = ok(env, "snap", str(src), "--symlinks", "record", "--json")
        taken.append(out.json_lines()[-1]["snapshot_id"])
    monkeypatch.setenv("SNAPKIT_PASSWORD", SRC_PW)
    monkeypatch.setenv("SNAPKIT_TO_PASSWORD", DST_PW)
    assert len(copy(repo, dst, selectors=[taken[0]]).copied) == 1
    events: list[Event] = []
    result = copy(repo, dst, selectors=[taken[2]], on_event=events.append, progress_interval=0)
    assert [c.snapshot_id for c in result.copied] == [taken[2]]
    read = [e.progress for e in events if isinstance(e, CopyProgressed)]
    assert read[-1].bytes_total == 500_000  # the two new files, nothing the first one has
    denv = env_for(tmp_path, dst, DST_PW)
    ok(denv, "check", "--read-data")
    ok(denv, "restore", "latest", "--target", str(tmp_path / "t"))
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_repositories_sharing_a_master_key_copy_by_id(tmp_path: Path) -> None:
    """Two repositories under one master key (one's files copied, its config made anew)
    compute ids alike: the copy keeps every id, manifests byte for byte, as between plain
    ones."""
    from snapkit.store.keys import add_key, sealed_config

    src = make_tree(tmp_path / "src", {"f.txt": b"hello\n", "g.bin": os.urandom(50_000)})
    repo, dst = tmp_path / "repo", tmp_path / "dst"
    key = make(repo, SRC_PW).cipher
    assert isinstance(key, Sealed)
    twin = make(dst, DST_PW)
    for name in list(twin.backend.list("keys")):
        twin.backend.remove("keys", name)
    add_key(twin.backend, key.key, DST_PW.encode(), KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    twin.backend.save("config", "config", sealed_config(twin.config, key).to_json())
    env = env_for(tmp_path, repo, SRC_PW, SNAPKIT_TO_PASSWORD=DST_PW)
    ok(env, "snap", str(src))
    result = copied(env, "--to", str(dst))
    (row,) = result["copied"]
    assert row["destination_id"] == row["id"]
    assert opened(dst, DST_PW).snapshot_ids() == opened(repo, SRC_PW).snapshot_ids()
    assert (dst / "snapshots" / row["id"]).read_bytes() == (
        repo / "snapshots" / row["id"]).read_bytes()
    ok(env_for(tmp_path, dst, DST_PW), "check", "--read-data")


def test_original_is_optional_in_the_manifest_and_re_keying_keeps_every_other_byte() -> None:
    from snapkit.format.encoding import pack_obj, unpack_obj
    from snapkit.format.model import (
        Node,
        Snapshot,
        Tree,
        content_id,
        decode_snapshot,
        encode_snapshot,
        encode_tree,
    )
    from snapkit.maintain.copy_trees import rekey_manifest, rekey_tree, tree_children

    snap = Snapshot(time_ns=1, hostname="h", username="u", sources=("/s",), tree="ab" * 16,
                    parent="cd" * 16)
    plain = encode_snapshot(snap)
    assert "original" not in unpack_obj(plain, "m")  # a manifest as before: same bytes
    copy = decode_snapshot(rekey_manifest(plain, "ef" * 16, "01" * 16, "23" * 16))
    assert (copy.tree, copy.parent, copy.original) == ("ef" * 16, "23" * 16, "01" * 16)
    assert encode_snapshot(copy) == rekey_manifest(plain, "ef" * 16, "01" * 16, "23" * 16)
    again = rekey_manifest(encode_snapshot(copy), "ab" * 16, "45" * 16, None)
    assert decode_snapshot(again).original == "01" * 16  # a copy of a copy names the first
    newer = pack_obj({**unpack_obj(plain, "m"), "a-later-key": [1]})  # readers skip those
    assert decode_snapshot(newer) == snap

    tree = encode_tree(Tree((
        Node("d", "dir", 0o755, 5, subtree="11" * 16),
        Node("f", "file", 0o644, 6, size=3, content=("22" * 16, "33" * 16), hash="44" * 16))))
    assert rekey_tree(tree, lambda i: i) == tree  # canonical: nothing else moves
    moved = rekey_tree(tree, lambda i: content_id(i.encode()))
    assert tree_children(moved) == ([content_id(("11" * 16).encode())],
                                    [content_id(i.encode()) for i in ("22" * 16, "33" * 16)])
    assert unpack_obj(moved, "t")["nodes"][1]["hash"] == bytes.fromhex("44" * 16)
