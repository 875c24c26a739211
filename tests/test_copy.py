"""``snapkit copy --to REPO``: snapshots copied between repositories through the CLI, only the
data the destination lacks sent, every manifest under its own id; the destination checks
clean and restores byte-identical (local and S3); a second run sends nothing; a damaged
source blob costs exactly the snapshots that reach it; a killed copy leaves both repositories
valid and a second run finishes; one-line errors. Filters that match nothing say so; a
relative --path is taken from the current directory; an interrupted copy says how many
snapshots arrived; damage found without reading data (a missing pack) sends none of the
snapshot's data, damage found by reading ends its sending and what was sent for nothing is
named with the `prune` that frees it."""

from __future__ import annotations

import json
import os
import random
import signal
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    File,
    assert_trees_equal,
    cli_env,
    describe,
    init_repo,
    invoke_main,
    make_tree,
    plant_lock,
    restored,
    run_snapkit,
    signal_when,
    verify_repository,
)
from s3server import S3Server

from snapkit.format.errors import Interrupted
from snapkit.format.paths import split_path
from snapkit.ops.copy import CopyProgressed, SnapshotDone, copy
from snapkit.ops.events import Event
from snapkit.read.treewalk import find_node
from snapkit.store.index import write_index
from snapkit.store.pack import PackBuilder
from snapkit.store.repository import Repository

MiB = 1024 * 1024


def tree(base: Path, seed: int = 1) -> Path:
    rng = random.Random(seed)
    return make_tree(base, {
        "config.json": File(b'{"gateway": {}}\n', mode=0o600, mtime_ns=1_700_000_000 * 10**9),
        "sessions/s1.jsonl": b'{"role": "user"}\n' * 3000,
        "media/big.bin": rng.randbytes(2 * MiB + 17),
        "media/small.bin": rng.randbytes(40_000),
        "empty": b"",
    })


def sk(env: dict[str, str], *args: str) -> Any:
    out = invoke_main(list(args), env)
    return out


def ok(env: dict[str, str], *args: str) -> Any:
    out = invoke_main(list(args), env)
    assert out.code == 0, (args, out.stdout, out.stderr)
    return out


def snap(env: dict[str, str], *args: str) -> dict[str, Any]:
    summary: dict[str, Any] = ok(env, "snap", *args, "--json").json_lines()[-1]
    return summary


def copied(env: dict[str, str], *args: str, code: int = 0) -> dict[str, Any]:
    out = invoke_main(["copy", *args, "--json"], env)
    assert out.code == code, (out.stdout, out.stderr)
    result: dict[str, Any] = out.json()
    return result


@pytest.fixture
def world(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """An environment whose --repo is ``repo`` (two snapshots of ``src``) and an empty
    destination ``dst``."""
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    src = tree(tmp_path / "src")
    snap(env, str(src), "--tag", "first")
    (src / "sessions" / "s1.jsonl").write_bytes(b'{"role": "user"}\n' * 3100)
    snap(env, str(src))
    ok(env, "init", "--repo", str(tmp_path / "dst"))
    return env, src, tmp_path / "dst"


def ids(repo: Path | str) -> list[str]:
    return Repository.open(repo).snapshot_ids()


def origins(repo: Path | str) -> list[str]:
    """The snapshots of ``repo`` by the id of the snapshot each is a copy of: its
    ``original`` (a re-keyed copy), else its own id."""
    return sorted(snap.original or sid for sid, snap in Repository.open(repo).snapshots())


def rekeyed(src: Path | str, dst: Path | str) -> bool:
    """Whether a copy from ``src`` to ``dst`` re-keys (in the encrypted test mode: always,
    every repository having its own key)."""
    return Repository.open(src).cipher.encrypted or Repository.open(dst).cipher.encrypted


def assert_same_snapshots(dst: Path | str, src: Path | str) -> None:
    """``dst`` holds ``src``'s snapshots: the same manifests under the same ids, or (re-keyed)
    each under a new id naming its source as ``original``."""
    if rekeyed(src, dst):
        assert origins(dst) == ids(src) and not set(ids(dst)) & set(ids(src))
    else:
        assert ids(dst) == ids(src) == origins(dst)


def test_copy_local_to_local_checks_clean_and_restores_identical(
        tmp_path: Path, world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, dst = world
    result = copied(env, "--to", str(dst))
    assert result["snapshots_copied"] == 2 and result["snapshots_skipped"] == 0
    assert result["destination"] == str(dst) and not result["damaged"]
    assert_same_snapshots(dst, tmp_path / "repo")  # the same manifests, under the same ids
    stored = sum(p.stat().st_size for p in (tmp_path / "repo" / "packs").rglob("*"))
    assert result["bytes_sent_stored"] <= stored
    verify_repository(dst)
    ok(env, "check", "--repo", str(dst))
    ok(env, "restore", "latest", "--repo", str(dst), "--target", str(tmp_path / "t"))
    assert_trees_equal(src, restored(tmp_path / "t", src))
    ok(env, "restore", "first", "--repo", str(dst), "--target", str(tmp_path / "t1"))
    ok(env, "restore", "first", "--target", str(tmp_path / "t0"))
    assert_trees_equal(restored(tmp_path / "t0", src), restored(tmp_path / "t1", src))

    again = copied(env, "--to", str(dst))  # a second copy sends nothing
    assert again["snapshots_copied"] == 0 and again["snapshots_skipped"] == 2
    assert (again["blobs_sent"], again["bytes_sent"]) == (0, 0)
    out = ok(env, "copy", "--to", str(dst))
    assert out.stdout.strip() == f"nothing to copy: {dst} holds all 2 selected snapshots"


def test_incremental_copy_sends_only_the_new_data(
        tmp_path: Path, world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, dst = world
    copied(env, "--to", str(dst))
    (src / "media" / "new.bin").write_bytes(random.Random(5).randbytes(300_000))
    summary = snap(env, str(src))
    result = copied(env, "--to", str(dst))
    assert result["snapshots_copied"] == 1 and result["snapshots_skipped"] == 2
    (row,) = result["copied"]
    assert row["id"] == summary["snapshot_id"]
    # exactly what the snapshot added to the source: its new chunks and trees, nothing more
    assert result["bytes_sent"] == summary["bytes_added_raw"] == row["bytes"]
    if rekeyed(tmp_path / "repo", dst):  # trees naming other ids compress a little otherwise
        assert abs(result["bytes_sent_stored"] - summary["bytes_added_stored"]) < 1024
    else:
        assert result["bytes_sent_stored"] == summary["bytes_added_stored"]
    assert result["blobs_sent"] == row["blobs"] > 0
    ok(env, "check", "--repo", str(dst))


def test_selection_filters_and_dry_run(
        tmp_path: Path, world: tuple[dict[str, str], Path, Path]) -> None:
    env, src, dst = world
    before = sorted(str(p) for p in dst.rglob("*"))
    plan = copied(env, "--to", str(dst), "--dry-run")
    assert plan["dry_run"] and plan["snapshots_copied"] == 2 and plan["blobs_sent"] > 0
    assert sorted(str(p) for p in dst.rglob("*")) == before  # nothing written
    first = copied(env, "first", "--to", str(dst))  # by tag
    assert [r["tags"] for r in first["copied"]] == [["first"]]
    assert first["bytes_sent"] == plan["copied"][0]["bytes"]
    assert copied(env, "--to", str(dst), "--host", "elsewhere")["snapshots_copied"] == 0
    rest = copied(env, "latest", "--to", str(dst), "--path", str(src / "media"))
    assert rest["snapshots_copied"] == 1 and rest["bytes_sent"] < plan["bytes_sent"]
    assert_same_snapshots(dst, tmp_path / "repo")


def test_filters_that_match_nothing_say_so_and_a_relative_path_is_resolved(
        tmp_path: Path, world: tuple[dict[str, str], Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    env, src, dst = world
    for args, named in ((("--tag", "nosuch"), "--tag nosuch"),
                        (("--host", "VM"), "--host VM"),
                        (("--path", "/nowhere"), "--path /nowhere")):
        out = ok(env, "copy", "--to", str(dst), *args)
        assert out.stdout.strip() == (f"nothing to copy: no snapshots match {named} (the "
                                      "source holds 2 snapshots; `snapkit snapshots` lists "
                                      "them)")
    monkeypatch.chdir(src.parent)
    rel = os.path.join(src.name, "media")  # snap recorded the absolute path
    assert copied(env, "--to", str(dst), "--path", rel)["snapshots_copied"] == 2
    listed = ok(env, "snapshots", "--path", rel, "--json").json()
    assert len(listed) == 2
    out = ok(env, "snapshots", "--path", "elsewhere")
    assert out.stdout.strip() == (f"no snapshots match --path {src.parent / 'elsewhere'} (the "
                                  "repository holds 2 snapshots; `snapkit snapshots` lists "
                                  "them)")


def test_an_interrupted_copy_says_how_many_snapshots_arrived(
        tmp_path: Path, world: tuple[dict[str, str], Path, Path]) -> None:
    """Ctrl-C as the first snapshot is committed: the error counts it; a rerun finishes."""
    env, _src, dst = world

    def interrupt(event: Event) -> None:
        if isinstance(event, SnapshotDone):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as caught:
        copy(tmp_path / "repo", dst, on_event=interrupt)
    assert caught.value.message == (
        f"interrupted: 1 snapshot copied so far to {dst}; both repositories are valid: run "
        "`snapkit copy` again to finish")
    assert len(ids(dst)) == 1
    assert copied(env, "--to", str(dst))["snapshots_copied"] == 1
    verify_repository(dst)


def test_progress_events_carry_totals(world: tuple[dict[str, str], Path, Path],
                                      tmp_path: Path) -> None:
    _env, _src, dst = world
    events: list[Event] = []
    result = copy(tmp_path / "repo", dst, on_event=events.append, progress_interval=0)
    progress = [e.progress for e in events if isinstance(e, CopyProgressed)]
    assert progress and progress[-1].blobs == progress[-1].blobs_total
    assert progress[-1].bytes == progress[-1].bytes_total > 0
    assert {p.count for p in progress} == {2} and len(result.copied) == 2


def damage_blob(repo: Path, blob: str) -> None:
    entry = Repository.open(repo).index.get(blob)
    assert entry is not None
    pack = repo / "packs" / entry.pack[:2] / entry.pack
    os.chmod(pack, 0o600)
    data = bytearray(pack.read_bytes())
    data[entry.offset + entry.length // 2] ^= 0x55
    pack.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["data", "tree"])
def test_damaged_source_blob_costs_only_the_snapshots_reaching_it(tmp_path: Path,
                                                                   kind: str) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    init_repo(tmp_path / "repo", pack_size=1)  # one blob per pack
    a, b = tree(tmp_path / "a", seed=1), tree(tmp_path / "b", seed=2)
    hurt = snap(env, str(a))["snapshot_id"]
    fine = snap(env, str(b))["snapshot_id"]
    (a / "more.txt").write_bytes(b"more\n")
    hurt2 = snap(env, str(a))["snapshot_id"]  # shares a's big file
    repo = Repository.open(tmp_path / "repo")
    where = a / "media" / "big.bin" if kind == "data" else a / "media"
    node = find_node(repo.load_tree, repo.load_snapshot(hurt).tree, split_path(str(where)))
    assert node is not None
    victim = node.content[len(node.content) // 2] if kind == "data" else node.subtree
    assert victim is not None
    damage_blob(tmp_path / "repo", victim)
    ok(env, "init", "--repo", str(tmp_path / "dst"))

    result = copied(env, "--to", str(tmp_path / "dst"), code=1)
    assert [r["id"] for r in result["copied"]] == [fine]
    assert [r["id"] for r in result["damaged"]] == [hurt, hurt2]
    assert all(victim in r["reason"] for r in result["damaged"])
    assert origins(tmp_path / "dst") == [fine]
    verify_repository(tmp_path / "dst")
    there = result["copied"][0]["destination_id"]  # (re-keyed: a new id, else ``fine``)
    ok(env, "restore", there, "--repo", str(tmp_path / "dst"), "--target", str(tmp_path / "t"))
    assert_trees_equal(b, restored(tmp_path / "t", b))

    out = invoke_main(["copy", "--to", str(tmp_path / "dst")], env)  # in words
    assert out.code == 1
    lines = [ln for ln in out.stderr.splitlines() if "not copied" in ln]
    assert len(lines) == 2 and lines[0].startswith(f"snapkit: snapshot {hurt[:8]}  ")
    assert victim in lines[0] and "Traceback" not in out.stderr
    assert "copied 0 snapshots, 2 not (damaged in the source)" in out.stdout


def test_damage_found_without_reading_costs_no_data(tmp_path: Path) -> None:
    """A pack missing from the source: the snapshot needing it sends none of its data (only
    the trees walked to find out, named as unused); the other one is copied."""
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    init_repo(tmp_path / "repo", pack_size=1)  # one blob per pack
    a, b = tree(tmp_path / "a", seed=1), tree(tmp_path / "b", seed=2)
    hurt = snap(env, str(a))["snapshot_id"]
    fine = snap(env, str(b))["snapshot_id"]
    repo = Repository.open(tmp_path / "repo")
    node = find_node(repo.load_tree, repo.load_snapshot(hurt).tree,
                     split_path(str(a / "media" / "big.bin")))
    assert node is not None
    entry = repo.index.get(node.content[-1])  # the last in pack order is read last
    assert entry is not None
    (tmp_path / "repo" / "packs" / entry.pack[:2] / entry.pack).unlink()
    ok(env, "init", "--repo", str(tmp_path / "dst"))
    result = copied(env, "--to", str(tmp_path / "dst"), code=1)
    assert [r["id"] for r in result["copied"]] == [fine]
    assert [r["id"] for r in result["damaged"]] == [hurt]
    assert f"pack {entry.pack} holding blob {node.content[-1]} is missing" in (
        result["damaged"][0]["reason"])
    assert result["bytes_sent"] - result["bytes_sent_unused"] == result["copied"][0]["bytes"]
    if rekeyed(tmp_path / "repo", tmp_path / "dst"):  # trees are re-keyed after the data
        assert result["bytes_sent_unused"] == 0
    else:
        assert 0 < result["bytes_sent_unused"] < 64 * 1024  # trees only, none of a's 2 MiB
    verify_repository(tmp_path / "dst")


def test_damage_found_by_reading_ends_the_sending_and_names_what_prune_frees(
        tmp_path: Path) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    init_repo(tmp_path / "repo", pack_size=1)
    a = tree(tmp_path / "a", seed=1)
    hurt = snap(env, str(a))["snapshot_id"]
    repo = Repository.open(tmp_path / "repo")
    node = find_node(repo.load_tree, repo.load_snapshot(hurt).tree,
                     split_path(str(a / "media" / "big.bin")))
    assert node is not None and len(node.content) >= 3
    placed = sorted((e.pack, e.offset, b) for b in node.content
                    if (e := repo.index.get(b)) is not None)
    victim = placed[len(placed) // 2][2]  # blobs before it in pack order are sent
    damage_blob(tmp_path / "repo", victim)
    dst = tmp_path / "dst"
    init_repo(dst, pack_size=1)
    out = invoke_main(["copy", "--to", str(dst)], env)
    assert out.code == 1 and victim in out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-2].startswith("copied 0 snapshots, 1 not (damaged in the source)")
    assert lines[-1].startswith("of which ") and lines[-1].endswith(
        f"only for the snapshot not copied: `snapkit prune --repo {dst}` frees them")
    again = copied(env, "--to", str(dst), code=1)  # nothing more is sent for it
    assert again["blobs_sent"] == 0 and again["damaged"][0]["id"] == hurt
    plan = ok(env, "prune", "--repo", str(dst), "--dry-run", "--json").json()
    assert plan["bytes_to_free"] > 0
    verify_repository(dst)



def test_a_second_copy_of_a_damaged_blob_in_the_source_is_used(tmp_path: Path) -> None:
    """A blob listed in two packs of the source (two concurrent snaps wrote it): when the
    copy read first is damaged, the other one is copied and the snapshot with it."""
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    src = tree(tmp_path / "src")
    sid = snap(env, str(src))["snapshot_id"]
    repo = Repository.open(tmp_path / "repo")
    node = find_node(repo.load_tree, repo.load_snapshot(sid).tree,
                     split_path(str(src / "media" / "small.bin")))
    assert node is not None
    (victim,) = node.content
    entry = repo.index.get(victim)
    assert entry is not None
    builder = PackBuilder(repo.cipher)
    builder.add(entry.kind, victim, repo.backend.load("packs", entry.pack, entry.offset,
                                                      entry.length), entry.raw_length)
    pack_id, data, entries = builder.finish()
    repo.backend.save("packs", pack_id, data)
    write_index(repo.backend, entries, cipher=repo.cipher)
    first = Repository.open(tmp_path / "repo").index.get(victim)
    assert first is not None
    damage_blob(tmp_path / "repo", victim)  # the copy the index names first
    ok(env, "init", "--repo", str(tmp_path / "dst"))
    result = copied(env, "--to", str(tmp_path / "dst"))
    assert [r["id"] for r in result["copied"]] == [sid] and not result["damaged"]
    verify_repository(tmp_path / "dst")
    # the damaged copy was read, failed, and is recorded as such in the source
    assert (victim, first.pack) in Repository.open(tmp_path / "repo").index.damaged


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_killed_copy_leaves_both_repositories_valid_and_a_rerun_finishes(
        tmp_path: Path, sig: signal.Signals) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    src = make_tree(tmp_path / "src", {
        f"f{i}.bin": random.Random(i).randbytes(3 * MiB) for i in range(8)})
    snap(env, str(src))
    init_repo(tmp_path / "dst", pack_size=64 * 1024)  # many packs: a slow, fsynced copy
    packs = tmp_path / "dst" / "packs"
    code, stderr = signal_when(["copy", "--to", str(tmp_path / "dst")], env,
                               lambda _: sum(1 for _ in packs.rglob("*")) > 40, sig)
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:  # interrupted: one line, exit 130, the packs no index lists removed again
        assert code == 130, stderr
        how = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted"
        assert stderr.strip().splitlines()[-1] == (
            f"snapkit: {how}: 0 snapshots copied so far to {tmp_path / 'dst'}; both "
            "repositories are valid: run `snapkit copy` again to finish"), stderr
        assert "Traceback" not in stderr
        listed = Repository.open(tmp_path / "dst").index.packs()
        assert {p.name for p in packs.rglob("*") if p.is_file()} <= listed
    assert ids(tmp_path / "dst") == []  # the manifest comes last
    for repo in ("repo", "dst"):
        out = run_snapkit(["check", "--repo", str(tmp_path / repo)], env)
        assert out.returncode == 0, (repo, out.stdout, out.stderr)
    rerun = run_snapkit(["copy", "--to", str(tmp_path / "dst"), "--json"], env, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    again = json.loads(rerun.stdout)
    assert again["snapshots_copied"] == 1
    assert 0 < again["bytes_sent"] < 24 * MiB  # what the killed run indexed is not sent again
    verify_repository(tmp_path / "dst")
    ok(env, "restore", "latest", "--repo", str(tmp_path / "dst"), "--target",
       str(tmp_path / "t"))
    assert_trees_equal(src, restored(tmp_path / "t", src))


def test_copy_local_to_s3(tmp_path: Path, s3_server: S3Server,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo")).items()
           if not k.startswith("AWS_")}
    env.update(s3_server.env())
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in s3_server.env().items():  # for the library calls of this test
        monkeypatch.setenv(k, v)
    src = tree(tmp_path / "src")
    first = describe(src)
    snap(env, str(src))
    (src / "config.json").write_bytes(b'{"gateway": {"port": 1}}\n')
    snap(env, str(src))
    loc = s3_server.location(s3_server.new_bucket(), "offsite/laptop")
    out = invoke_main(["copy", "--to", loc], env, clear_prefixes=("SNAPKIT_", "AWS_"))
    assert out.code == 10 and f"snapkit init --repo {loc}" in out.stderr, out.stderr
    ok(env, "init", "--repo", loc, "--encryption", "none")
    result = copied(env, "--to", loc)
    assert result["snapshots_copied"] == 2 and result["destination"] == loc
    assert_same_snapshots(loc, tmp_path / "repo")
    ok(env, "check", "--repo", loc, "--read-data")
    ok(env, "restore", "latest~1", "--repo", loc, "--target", str(tmp_path / "t"))
    assert_trees_equal(first, restored(tmp_path / "t", src))
    again = copied(env, "--to", loc)
    assert (again["snapshots_copied"], again["blobs_sent"]) == (0, 0)
    ok(env, "init", "--repo", str(tmp_path / "back"))  # and back from S3
    back = copied(env, "--repo", loc, "--to", str(tmp_path / "back"))
    assert back["snapshots_copied"] == 2 and back["bytes_sent"] == result["bytes_sent"]
    assert_same_snapshots(tmp_path / "back", tmp_path / "repo")  # (originals carried on)
    verify_repository(tmp_path / "back")


def test_one_line_errors(tmp_path: Path, world: tuple[dict[str, str], Path, Path]) -> None:
    env, _src, _dst = world
    missing = tmp_path / "nowhere"
    out = sk(env, "copy", "--to", str(missing))
    assert out.code == 10
    assert out.stderr.strip() == (f"snapkit: error: no repository at the destination "
                                  f"{missing}; create it with `snapkit init --repo {missing}`")
    same = sk(env, "copy", "--to", str(tmp_path / "repo"))
    assert same.code == 2 and len(same.stderr.strip().splitlines()) == 1
    assert "--to names the source repository itself" in same.stderr
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x").write_bytes(b"x")
    junk = sk(env, "copy", "--to", str(tmp_path / "junk"))
    assert junk.code == 10 and "is not a snapkit repository" in junk.stderr
    assert "check --to" in junk.stderr
    nope = sk(env, "copy", "feedbeef", "--to", str(tmp_path / "dst"))
    assert nope.code == 2 and "feedbeef" in nope.stderr
    as_json = sk(env, "copy", "--to", str(missing), "--json")
    assert json.loads(as_json.stderr)["exit_code"] == 10
    plant_lock(tmp_path / "dst", os.getpid())  # a live prune holds the destination
    locked = sk(env, "copy", "--to", str(tmp_path / "dst"))
    assert locked.code == 11 and len(locked.stderr.strip().splitlines()) == 1
    assert f"`snapkit unlock --all --repo {tmp_path / 'dst'}`" in locked.stderr
    no_to = sk(env, "copy")
    assert no_to.code == 2 and "--to" in no_to.stderr
    assert "Traceback" not in out.stderr + same.stderr + junk.stderr + nope.stderr


def test_a_damaged_source_manifest_is_named_and_the_rest_copied(
        tmp_path: Path, world: tuple[dict[str, str], Path, Path]) -> None:
    env, _src, dst = world
    first, second = ids(tmp_path / "repo")
    manifest = tmp_path / "repo" / "snapshots" / first
    os.chmod(manifest, 0o600)
    data = manifest.read_bytes()
    manifest.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    result = copied(env, "--to", str(dst), code=1)
    assert [r["id"] for r in result["copied"]] == [second]
    assert [r["id"] for r in result["damaged"]] == [first]
    assert "does not match its id" in result["damaged"][0]["reason"]
    assert origins(dst) == [second]
    ok(env, "check", "--repo", str(dst))
