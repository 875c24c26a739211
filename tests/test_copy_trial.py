"""``snapkit copy``: what a new-user trial found (issue 15).

* An internal error ``TypeError: unhashable type: 'dict'`` from a re-keying copy involving S3:
  the S3 backend's cache reads a pack's trailer to learn which of its blobs are trees; when
  those bytes are not a trailer (a sealed trailer read without the key, as the cache did
  before it was given the repository's cipher, or a damaged one) msgpack may decode them as a
  map whose key is a map and raise TypeError, which no reader expects. Random bytes decode so
  about once in a hundred packs, hence "seen once". Every decoder now reports that as
  damage (IntegrityError), so the cache passes over the pack and the read goes on.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import (
    assert_trees_equal,
    cli_env,
    init_repo,
    invoke_main,
    make_tree,
    plain_only,
    plant_lock,
    restored,
)
from s3server import S3Server

from snapkit.format.encoding import unpack_obj
from snapkit.format.errors import IntegrityError
from snapkit.store.pack import FOOTER, read_trailer

DST_PW = "passphrase of the destination"


def _pw(tmp: Path, passphrase: str) -> Path:
    path = tmp / "pw-dst"
    path.write_text(passphrase + "\n")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("data", [b"\x81\x80\x01rest", b"\x91\x81\x90\x01", b"\x81\x91\x00\x00"])
def test_msgpack_with_a_map_or_list_as_a_key_is_damage(data: bytes) -> None:
    with pytest.raises(IntegrityError, match="tree object is not valid msgpack"):
        unpack_obj(data, "tree object")


def test_a_pack_uploaded_to_s3_whose_trailer_decodes_to_an_unhashable_key(
        tmp_path: Path) -> None:
    """The trial's exact path: each pack uploaded to S3 has its trailer decoded for the cache
    (``pack_trees``); a sealed trailer decoded without the key (before the cache was given
    the cipher) is random bytes, which decode to a map with an unhashable key about twice in
    a thousand packs: the cache now passes over such a pack instead of failing the upload."""
    from snapkit.format.model import KIND_DATA
    from snapkit.store.repository import Repository
    from snapkit.store.s3_cache import pack_trees

    repo = Repository.init(tmp_path / "r")
    with repo.saver() as saver:
        saver.save(KIND_DATA, b"data", repo.cipher.content_id(b"data"))
    (path,) = [p for p in (tmp_path / "r" / "packs").rglob("*") if p.is_file()]
    data = path.read_bytes()
    start = len(data) - FOOTER.size - read_trailer(path.name, data[-FOOTER.size:])
    assert pack_trees(path.name, data, repo.cipher) == {}
    assert pack_trees(path.name, data[:start] + b"\x81\x80\x01" + data[start + 3:]) is None


@plain_only  # (a plain S3 repository's trailers)
def test_copy_from_s3_whose_pack_trailer_decodes_to_an_unhashable_key(
        tmp_path: Path, s3_server: S3Server) -> None:
    """The trial's path: a re-keying copy reading trees through the S3 cache, which reads
    the trailer of each pack it has not cached; that trailer decodes to ``{{}: 1}``."""
    env = {k: v for k, v in cli_env(tmp_path).items() if not k.startswith("AWS_")}
    env.update(s3_server.env())
    env.pop("SNAPKIT_PASSWORD", None)  # (the source is plain, in either test mode)
    bucket = s3_server.new_bucket()
    src_loc = s3_server.location(bucket, "laptop")
    src = make_tree(tmp_path / "src", {"a.txt": b"hello\n", "d/b.bin": os.urandom(70_000)})
    assert invoke_main(["init", "--repo", src_loc, "--encryption", "none"], env).code == 0
    dst = tmp_path / "dst"
    pw = _pw(tmp_path, DST_PW)
    out = invoke_main(["init", "--repo", str(dst), "--password-file", str(pw)], env)
    assert out.code == 0, out.stderr
    assert invoke_main(["snap", str(src), "--repo", src_loc], env).code == 0

    client = s3_server.client()
    packs = [k for k in s3_server.keys(bucket) if "/packs/" in k]
    assert packs
    for key in packs:  # each pack's trailer: a map whose key is a map
        data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        start = len(data) - FOOTER.size - read_trailer(key, data[-FOOTER.size:])
        data = data[:start] + b"\x81\x80\x01" + data[start + 3:]
        client.put_object(Bucket=bucket, Key=key, Body=data)
    for cached in (tmp_path / "xdg-cache").rglob("*"):  # cold: the trailers are read
        if cached.is_file() and "trees" in cached.parts:
            cached.unlink()

    out = invoke_main(["restore", "latest", "--repo", src_loc, "--target",
                       str(tmp_path / "s")], env)  # trees read through the cache
    assert out.code == 0 and "internal error" not in out.stderr, out.stderr
    assert_trees_equal(src, restored(tmp_path / "s", src))
    out = invoke_main(["copy", "--repo", src_loc, "--to", str(dst), "--to-password-file",
                       str(pw), "--json"], env)
    assert out.code == 0, (out.stdout, out.stderr)
    assert "internal error" not in out.stderr
    assert out.json()["snapshots_copied"] == 1
    denv = {**env, "SNAPKIT_PASSWORD_FILE": str(pw)}
    assert invoke_main(["restore", "latest", "--repo", str(dst), "--target",
                        str(tmp_path / "t")], denv).code == 0
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_an_unreachable_destination_names_to_not_repo(tmp_path: Path) -> None:
    from s3server import free_port

    env = cli_env(tmp_path, AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s")
    repo = tmp_path / "repo"
    init_repo(repo)
    to = f"s3:http://127.0.0.1:{free_port()}/bucket/x"
    out = invoke_main(["copy", "--repo", str(repo), "--to", to], env)
    assert out.code != 0
    (line,) = out.stderr.strip().splitlines()
    assert "cannot reach S3 endpoint" in line and "check the URL in --to " in line, line
    assert "--repo" not in line


def test_a_locked_repository_given_by_repo_names_it_in_the_unlock_command(
        tmp_path: Path) -> None:
    repo = tmp_path / "elsewhere" / "repo"
    init_repo(repo)
    plant_lock(repo, 7, exclusive=True, host="other-host")
    out = invoke_main(["forget", "--keep-last", "1", "--repo", str(repo)], cli_env(tmp_path))
    assert out.code == 11
    assert f"run `snapkit unlock --all --repo {repo}` or remove {repo}/locks/" in out.stderr


def _pw_file(tmp: Path, name: str, passphrase: str) -> Path:
    path = tmp / name
    path.write_text(passphrase + "\n")
    path.chmod(0o600)
    return path


def _two_encrypted(tmp: Path) -> tuple[Path, Path, Path]:
    """A one-file source tree, and two empty encrypted repositories: ``repo`` (passphrase
    "source passphrase") and ``dst`` (:data:`DST_PW`)."""
    from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
    from snapkit.store.repository import Repository

    src = make_tree(tmp / "src", {"f.txt": b"hello\n"})
    repo, dst = tmp / "repo", tmp / "dst"
    for where, pw in ((repo, "source passphrase"), (dst, DST_PW)):
        Repository.init(where, passphrase=pw.encode(),
                        kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    return src, repo, dst


def test_a_wrong_destination_passphrase_names_where_it_came_from(tmp_path: Path) -> None:
    src, repo, dst = _two_encrypted(tmp_path)
    src_pw = _pw_file(tmp_path, "src-pw", "source passphrase")
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo), SNAPKIT_PASSWORD_FILE=str(src_pw))
    env.pop("SNAPKIT_PASSWORD", None)
    assert invoke_main(["snap", str(src)], env).code == 0
    wrong = _pw_file(tmp_path, "wrong", "not it")

    def line(*args: str, **extra: str) -> str:
        out = invoke_main(["copy", "--to", str(dst), *args], {**env, **extra})
        assert out.code == 12, (out.stdout, out.stderr)
        (only,) = out.stderr.strip().splitlines()
        assert only.startswith(f"snapkit: error: wrong passphrase for the destination {dst}: ")
        return str(only)

    by_option = line("--to-password-file", str(wrong))
    assert (f"the passphrase from the password file {wrong} (--to-password-file) opens none "
            "of its 1 key file" in by_option), by_option
    by_var = line(SNAPKIT_TO_PASSWORD_FILE=str(wrong))
    assert f"the password file {wrong} (SNAPKIT_TO_PASSWORD_FILE)" in by_var, by_var
    assert "from SNAPKIT_TO_PASSWORD opens none" in line(SNAPKIT_TO_PASSWORD="not it")
    fallback = line()  # none given for the destination: the source's was tried
    assert (f"no passphrase was given for it, and the source repository's (from the password "
            f"file {src_pw}) opens none of its 1 key file; pass --to-password-file FILE, or "
            "set SNAPKIT_TO_PASSWORD_FILE" in fallback), fallback
    assert "source passphrase" not in by_option + by_var + fallback


@plain_only  # (a plain destination)
def test_copying_into_a_plain_repository_says_it_once(tmp_path: Path) -> None:
    from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
    from snapkit.store.repository import Repository

    src = make_tree(tmp_path / "src", {"f.txt": b"hello\n"})
    repo, dst, other = tmp_path / "repo", tmp_path / "dst", tmp_path / "other"
    Repository.init(repo, passphrase=b"source passphrase",
                    kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    init_repo(dst)
    init_repo(other)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo), SNAPKIT_PASSWORD="source passphrase")
    assert invoke_main(["snap", str(src)], env).code == 0
    out = invoke_main(["copy", "--to", str(dst)], env)
    assert out.code == 0, out.stderr
    assert out.stderr.splitlines() == [
        f"snapkit: note: the source is encrypted, the destination {dst} is not: the snapshots "
        "copied there are stored in plain (to keep them encrypted, copy to one made by "
        "`snapkit init --repo DEST --encryption repokey`)"]
    pw = _pw_file(tmp_path, "pw", "unused")
    js = invoke_main(["copy", "--to", str(other), "--json", "--to-password-file", str(pw)],
                     {**env, "SNAPKIT_TO_PASSWORD": "x"})
    assert js.code == 0 and js.stderr == "", js.stderr
    assert (js.json()["source_encrypted"], js.json()["destination_encrypted"]) == (True, False)
    plain = cli_env(tmp_path, SNAPKIT_REPO=str(dst))
    quiet = invoke_main(["copy", "--to", str(other)], plain)  # plain to plain: nothing said
    assert quiet.code == 0 and quiet.stderr == "", quiet.stderr
    unused = invoke_main(["copy", "--to", str(other), "--to-password-file", str(pw)],
                         {**plain, "SNAPKIT_TO_PASSWORD_FILE": str(pw)})
    assert unused.stderr.splitlines() == [
        f"snapkit: note: the destination {other} is not encrypted; --to-password-file and "
        "SNAPKIT_TO_PASSWORD_FILE unused: it has no passphrase"]


def test_a_copied_snapshot_shows_its_original(tmp_path: Path) -> None:
    src, repo, dst = _two_encrypted(tmp_path)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo), SNAPKIT_PASSWORD="source passphrase")
    assert invoke_main(["snap", str(src)], env).code == 0
    (row,) = invoke_main(["copy", "--to", str(dst), "--json"],
                         {**env, "SNAPKIT_TO_PASSWORD": DST_PW}).json()["copied"]
    sid, new = row["id"], row["destination_id"]
    denv = cli_env(tmp_path, SNAPKIT_REPO=str(dst), SNAPKIT_PASSWORD=DST_PW)

    (mine,) = invoke_main(["snapshots", "--json"], env).json()
    assert "original" in mine and mine["original"] is None
    (copy,) = invoke_main(["snapshots", "--json"], denv).json()
    assert (copy["id"], copy["original"]) == (new, sid)
    table = invoke_main(["snapshots"], denv).stdout.splitlines()
    assert table[1].startswith(f"{new[:8]}o ")  # (not a hex digit: no longer id)
    assert table[-1] == ("o = copied from another repository (`snapkit show ID` names its "
                         "original)")
    assert "o = copied" not in invoke_main(["snapshots"], env).stdout
    text = invoke_main(["show", new[:8]], denv).stdout
    assert (f"  copied:   from snapshot {sid} of another repository (`snapkit copy`)"
            in text.splitlines()), text
    assert "copied:" not in invoke_main(["show", sid[:8]], env).stdout
    assert invoke_main(["show", new[:8], "--json"], denv).json()["original"] == sid
    assert invoke_main(["show", sid[:8], "--json"], env).json()["original"] is None


def test_check_counts_in_the_singular_when_there_is_one(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    init_repo(repo)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo))
    src = make_tree(tmp_path / "src", {"f.txt": b"hello\n"})
    assert invoke_main(["snap", str(src)], env).code == 0
    out = invoke_main(["check"], env)
    assert out.code == 0, out.stderr
    last = out.stdout.splitlines()[-1]
    assert last.startswith("checked 1 pack, ") and ", 1 snapshot, " in last, last


def test_a_re_keyed_copy_of_an_openclaw_snapshot_paired_with_its_parent(
        tmp_path: Path) -> None:
    """Nothing in a copy hashes a snapshot (a frozen record with mapping fields): a
    snapshot with ``service`` and ``openclaw`` maps, paired with its parent's copy, arrives
    with them, after a ``forget --prune`` in the source."""
    from dataclasses import replace

    from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
    from snapkit.format.model import content_id, encode_snapshot
    from snapkit.store.repository import Repository

    src = make_tree(tmp_path / "src", {"f.txt": b"hello\n", "g.bin": os.urandom(50_000)})
    repo, dst = tmp_path / "repo", tmp_path / "dst"
    Repository.init(dst, passphrase=DST_PW.encode(), kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    init_repo(repo)
    env = cli_env(tmp_path, SNAPKIT_REPO=str(repo), SNAPKIT_TO_PASSWORD=DST_PW)
    for n in range(3):
        (src / "g.bin").write_bytes(os.urandom(50_000 + n))
        assert invoke_main(["snap", str(src)], env).code == 0
    assert invoke_main(["copy", "--to", str(dst)], env).code == 0
    assert invoke_main(["forget", "--keep-last", "2", "--prune"], env).code == 0
    (src / "h.bin").write_bytes(os.urandom(30_000))
    assert invoke_main(["snap", str(src)], env).code == 0
    source = Repository.open(repo, (lambda: os.environ["SNAPKIT_PASSWORD"].encode())
                             if os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1" else None)
    sid, snap = source.snapshots()[-1]
    service = {"policy": "stop", "decision": "stopped", "start_command": ["openclaw", "up"]}
    openclaw = {"state_dir": str(src), "profile": None, "agents": {"main": {"id": [1, 2]}}}
    stored = source.cipher.seal(encode_snapshot(replace(snap, service=service,
                                                        openclaw=openclaw)), "snapshot")
    source.backend.save("snapshots", content_id(stored), stored)
    source.remove_snapshot(sid)

    out = invoke_main(["copy", "--to", str(dst), "--json"], env)
    assert out.code == 0, (out.stdout, out.stderr)
    result = out.json()
    assert (result["snapshots_copied"], result["snapshots_skipped"]) == (1, 2)
    (row,) = result["copied"]
    copy = Repository.open(dst, DST_PW.encode).load_snapshot(row["destination_id"])
    assert (dict(copy.service), dict(copy.openclaw)) == (service, openclaw)
    assert copy.original == row["id"] and copy.parent is not None
