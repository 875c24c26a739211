"""`snapkit repair index|packs|snapshots`, and prune's refusal to delete what damage hides.

Each test builds a real repository, damages files under ``repo/packs|index|snapshots`` as a
failing disk would, repairs, and then requires: ``check --read-data`` passes, the snapshots
the damage did not touch restore byte-identical, and the next snap of the live source
restores every file.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from faulty import FaultyBackend
from helpers import env_for, init_repo, invoke_main, restore, restored, take

from snapkit.format.model import KIND_DATA, KIND_TREE, NODE_DIR
from snapkit.maintain.check import check_repository
from snapkit.maintain.repair_index import plan_index_rebuild, write_rebuilt_index
from snapkit.maintain.repair_packs import execute_pack_repair, plan_pack_repair
from snapkit.store.backend import LocalBackend
from snapkit.store.repository import Repository

PACK_SIZE = 96 * 1024


def _text(n: int, seed: int) -> bytes:
    words = [f"w{seed}-{i % 97}-{i % 13}".encode() for i in range(n // 8)]
    return b" ".join(words)[:n]


def _sources(tmp: Path) -> tuple[Path, Path]:
    """Two source trees: ``one`` (damaged by the tests) and ``two`` (never touched)."""
    one, two = tmp / "one", tmp / "two"
    for base, seed in ((one, 1), (two, 2)):
        (base / "sub").mkdir(parents=True)
        (base / "text.txt").write_bytes(_text(150_000, seed))
        (base / "random.bin").write_bytes(os.urandom(120_000))
        (base / "sub" / "deep.txt").write_bytes(_text(40_000, seed + 10))
        (base / "sub" / "small.bin").write_bytes(os.urandom(5_000))
    return one, two


def _setup(tmp: Path) -> tuple[Path, Path, Path, str, str]:
    repo_dir = tmp / "repo"
    repo = init_repo(repo_dir, pack_size=PACK_SIZE)
    one, two = _sources(tmp)
    sid_one, _ = take(repo, one)
    sid_two, _ = take(repo, two)
    return repo_dir, one, two, sid_one, sid_two


def _repair(repo_dir: Path, *args: str) -> Any:
    return invoke_main(["--repo", str(repo_dir), "repair", *args], env_for(repo_dir.parent))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _assert_restores(repo_dir: Path, sid: str, source: Path, target: Path) -> None:
    repo = Repository.open(repo_dir)
    restore(repo, sid, target)
    assert _files(restored(target, source)) == _files(source)


def _assert_checks_clean(repo_dir: Path) -> None:
    report = check_repository(Repository.open(repo_dir), read_data=True)
    assert report.ok, report.errors


def _store(repo_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo_dir)): p.read_bytes()
            for p in sorted(repo_dir.rglob("*")) if p.is_file() and "locks" not in p.parts}


def _pack_path(repo_dir: Path, pack: str) -> Path:
    return repo_dir / "packs" / pack[:2] / pack


def _flip_blob(repo_dir: Path, blob: str) -> str:
    """Flip one byte in the middle of ``blob``'s stored bytes; return its pack."""
    entry = Repository.open(repo_dir).index.get(blob)
    assert entry is not None
    path = _pack_path(repo_dir, entry.pack)
    data = bytearray(path.read_bytes())
    data[entry.offset + entry.length // 2] ^= 0x40
    path.write_bytes(bytes(data))
    return entry.pack


def _file_blobs(repo_dir: Path, sid: str, *names: str) -> list[str]:
    """The data blobs of the file at ``names`` below the snapshot's single source."""
    repo = Repository.open(repo_dir)
    snap = repo.load_snapshot(sid)
    tree = repo.load_tree(snap.tree)
    for part in Path(snap.sources[0]).parts[1:]:
        node = tree.by_name()[part]
        assert node.subtree
        tree = repo.load_tree(node.subtree)
    for name in names[:-1]:
        sub = tree.by_name()[name].subtree
        assert sub
        tree = repo.load_tree(sub)
    return list(tree.by_name()[names[-1]].content)


def _subtree(repo_dir: Path, sid: str, name: str) -> str:
    repo = Repository.open(repo_dir)
    snap = repo.load_snapshot(sid)
    tree = repo.load_tree(snap.tree)
    for part in (*Path(snap.sources[0]).parts[1:], name):
        node = tree.by_name()[part]
        assert node.type == NODE_DIR and node.subtree
        found = node.subtree
        tree = repo.load_tree(found)
    return found


def _heal_and_verify(repo_dir: Path, tmp: Path, one: Path, two: Path, sid_two: str) -> None:
    """After the repairs: checks clean, ``two`` restores, a new snap of ``one`` restores."""
    _assert_checks_clean(repo_dir)
    _assert_restores(repo_dir, sid_two, two, tmp / "r-two")
    new_sid, _ = take(Repository.open(repo_dir), one)
    _assert_restores(repo_dir, new_sid, one, tmp / "r-one")
    _assert_checks_clean(repo_dir)
    pruned = invoke_main(["--repo", str(repo_dir), "prune"], env_for(tmp))
    assert pruned.code == 0, pruned.stderr
    _assert_checks_clean(repo_dir)


# --------------------------------------------------------------------------- repair index


@pytest.mark.parametrize("damage", ["delete", "corrupt"])
def test_repair_index_rebuilds_a_lost_or_corrupt_index(tmp_path: Path, damage: str) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    index_files = sorted((repo_dir / "index").iterdir())
    for f in index_files:
        if damage == "delete":
            f.unlink()
        else:
            data = bytearray(f.read_bytes())
            data[len(data) // 2] ^= 0x01
            f.write_bytes(bytes(data))
    assert not check_repository(Repository.open(repo_dir)).ok
    pruned = invoke_main(["--repo", str(repo_dir), "prune"], env_for(tmp_path))
    assert pruned.code != 0 and (damage == "delete" or "repair index" in pruned.stderr)

    before = _store(repo_dir)
    assert _repair(repo_dir, "index", "--dry-run").code == 0
    assert _store(repo_dir) == before
    result = _repair(repo_dir, "index", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["ok"] and doc["blobs_indexed"] > 0 and doc["packs_read"] > 1
    assert doc["index_files_removed"] == (0 if damage == "delete" else len(index_files))
    assert len(list((repo_dir / "index").iterdir())) == 1
    _assert_checks_clean(repo_dir)
    _assert_restores(repo_dir, sid_one, one, tmp_path / "r1")
    _assert_restores(repo_dir, sid_two, two, tmp_path / "r2")
    again = _repair(repo_dir, "index")
    assert again.code == 0 and "nothing to do" in again.stdout
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


def _damage_trailer(repo_dir: Path, pack: str) -> None:
    path = _pack_path(repo_dir, pack)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # the end magic: the trailer cannot be found
    path.write_bytes(bytes(data))


def test_repair_index_salvages_a_pack_with_a_damaged_trailer(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    text_blob = _file_blobs(repo_dir, sid_one, "text.txt")[0]
    pack = Repository.open(repo_dir).index.get(text_blob).pack  # type: ignore[union-attr]
    _damage_trailer(repo_dir, pack)
    for f in (repo_dir / "index").iterdir():
        f.unlink()
    result = _repair(repo_dir, "index")
    assert result.code == 0, result.stderr  # the pack is rewritten by `repair packs`
    repo = Repository.open(repo_dir)
    if repo.cipher.encrypted:  # the encrypted test mode: sealed blobs are not found by scanning
        assert f"pack {pack}" in result.stdout and "sealed blobs are" in result.stdout
        assert "`snapkit prune` removes it" in result.stdout  # (no index lists it now)
    else:
        assert f"pack {pack}" in result.stdout and "repair packs" in result.stdout
        assert text_blob in repo.index  # a zstd-coded blob, found by scanning
        assert repo.index.get(text_blob).kind == KIND_DATA  # type: ignore[union-attr]
        assert any(e.kind == KIND_TREE for e in repo.index)
    packs = _repair(repo_dir, "packs")
    assert packs.code == 0, packs.stderr
    assert not _pack_path(repo_dir, pack).exists() or repo.cipher.encrypted
    fixed = _repair(repo_dir, "snapshots", "--forget")
    assert fixed.code == 0, fixed.stderr
    assert _repair(repo_dir, "index").code == 0
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)
    assert not _pack_path(repo_dir, pack).exists()


def test_a_pack_nothing_is_recovered_from_is_left_to_prune(tmp_path: Path) -> None:
    """Its blobs all raw-coded (or sealed) and no index listing them: repair index indexes
    nothing of it and says prune removes it (repair packs, which rewrites indexed packs,
    finds nothing to do with it)."""
    repo_dir = tmp_path / "repo"
    repo = init_repo(repo_dir, pack_size=PACK_SIZE)
    src = tmp_path / "src"
    src.mkdir()
    # incompressible, so raw-coded; big enough to fill packs with its chunks alone
    (src / "random.bin").write_bytes(random.Random(7).randbytes(400_000))
    take(repo, src)
    raw: dict[str, bool] = {}  # pack -> every blob in it raw-coded data (or sealed)
    for e in repo.index:
        raw[e.pack] = raw.get(e.pack, True) and e.kind == KIND_DATA and (
            repo.cipher.encrypted or e.length == e.raw_length + 1)
    pack = next(p for p, only_raw in raw.items() if only_raw)
    _damage_trailer(repo_dir, pack)
    for f in (repo_dir / "index").iterdir():
        f.unlink()
    result = _repair(repo_dir, "index")
    assert result.code == 0, result.stderr
    assert f"pack {pack}" in result.stdout and "recovered 0 blob(s)" in result.stdout
    assert "nothing in it is indexed now: `snapkit prune` removes it" in result.stdout
    assert "run `snapkit repair packs`" not in result.stdout
    assert _repair(repo_dir, "packs").code == 0
    assert _repair(repo_dir, "snapshots", "--forget").code == 0
    pruned = invoke_main(["--repo", str(repo_dir), "prune"], env_for(tmp_path))
    assert pruned.code == 0, pruned.stderr
    assert not _pack_path(repo_dir, pack).exists()
    _assert_checks_clean(repo_dir)


def test_a_damaged_trailer_with_the_old_index_loses_nothing(tmp_path: Path) -> None:
    repo_dir, one, _two, sid_one, _sid_two = _setup(tmp_path)
    blob = _file_blobs(repo_dir, sid_one, "random.bin")[0]  # raw-coded: not scannable
    pack = Repository.open(repo_dir).index.get(blob).pack  # type: ignore[union-attr]
    _damage_trailer(repo_dir, pack)
    result = _repair(repo_dir, "index", "--json")
    assert result.code == 0
    salvaged = result.json()["salvaged_packs"]
    assert [s["pack"] for s in salvaged] == [pack] and salvaged[0]["known_lost"] == 0
    assert blob in Repository.open(repo_dir).index
    packs = _repair(repo_dir, "packs", "--json")
    assert packs.code == 0 and packs.json()["lost_blobs"] == []
    _assert_checks_clean(repo_dir)
    _assert_restores(repo_dir, sid_one, one, tmp_path / "r1")
    assert _repair(repo_dir, "index").code == 0


def test_a_trailer_that_still_decodes_wrongly_does_not_replace_the_index(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    blob = _file_blobs(repo_dir, sid_one, "random.bin")[0]
    pack = Repository.open(repo_dir).index.get(blob).pack  # type: ignore[union-attr]
    path = _pack_path(repo_dir, pack)
    cipher = Repository.open(repo_dir).cipher
    data = path.read_bytes()
    length = int.from_bytes(data[-12:-8], "little")
    trailer = bytearray(cipher.open(data[-12 - length:-12], "trailer", pack))
    at = trailer.rindex(bytes.fromhex(blob))  # the blob's id in the trailer: still valid msgpack
    trailer[at] ^= 0x01
    # (sealed again in the encrypted test mode: a trailer that opens and decodes, wrongly)
    path.write_bytes(data[:-12 - length] + cipher.seal(bytes(trailer), "trailer") + data[-12:])
    result = _repair(repo_dir, "index", "--json")
    assert result.code == 0, result.stderr
    assert [s["pack"] for s in result.json()["salvaged_packs"]] == [pack]
    assert blob in Repository.open(repo_dir).index
    packs = _repair(repo_dir, "packs", "--json")
    assert packs.code == 0 and packs.json()["lost_blobs"] == []
    _assert_checks_clean(repo_dir)
    _assert_restores(repo_dir, sid_one, one, tmp_path / "r1")
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


def test_repair_config_writes_the_defaults_again(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    (repo_dir / "config").write_bytes(b"{not json")
    dry = _repair(repo_dir, "config", "--dry-run")
    assert dry.code == 0 and (repo_dir / "config").read_bytes() == b"{not json"
    result = _repair(repo_dir, "config", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["damaged"] and doc["blobs_verified"] > 0 and doc["new_id"]
    repo = Repository.open(repo_dir)
    assert repo.config_damaged is None and repo.config.id == doc["new_id"]
    again = _repair(repo_dir, "config", "--json")
    assert again.code == 0 and again.json()["nothing_to_do"]
    _assert_restores(repo_dir, sid_one, one, tmp_path / "r1")
    (repo_dir / "config").unlink()
    assert _repair(repo_dir, "config").code == 0
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


# --------------------------------------------------------------------------- repair packs


def test_a_flipped_data_chunk_heals_with_the_next_snap(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    blob = _file_blobs(repo_dir, sid_one, "sub", "deep.txt")[0]
    _flip_blob(repo_dir, blob)
    assert not check_repository(Repository.open(repo_dir), read_data=True).ok
    before = _store(repo_dir)
    assert _repair(repo_dir, "packs", "--dry-run").code == 0
    assert _store(repo_dir) == before
    result = _repair(repo_dir, "packs", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["lost_blobs"] == [blob] and doc["affected_snapshots"] == [sid_one]
    assert doc["result"]["packs_removed"] == 1
    assert blob not in Repository.open(repo_dir).index
    again = _repair(repo_dir, "packs", "--json")
    assert again.code == 0 and again.json()["nothing_to_do"]
    # the next snap stores the lost chunk again from the live file
    new_sid, _ = take(Repository.open(repo_dir), one)
    _assert_restores(repo_dir, new_sid, one, tmp_path / "r-new")
    _assert_restores(repo_dir, sid_two, two, tmp_path / "r-two")
    # ... which heals the original snapshot too: the chunk is back under the same id
    _assert_restores(repo_dir, sid_one, one, tmp_path / "r-old")
    fixed = _repair(repo_dir, "snapshots", "--json")
    assert fixed.code == 0 and fixed.json()["nothing_to_do"], fixed.stdout
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


def test_a_repaired_snapshot_restores_what_is_left(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    _flip_blob(repo_dir, _file_blobs(repo_dir, sid_one, "text.txt")[-1])
    assert _repair(repo_dir, "packs").code == 0
    result = _repair(repo_dir, "snapshots", "--forget", "--json")
    assert result.code == 0, result.stderr
    [fix] = result.json()["snapshots"]
    repo = Repository.open(repo_dir)
    ids = [sid for sid, _ in repo.snapshots()]
    assert sid_one not in ids and fix["repaired"] in ids
    snap = repo.load_snapshot(fix["repaired"])
    assert "repaired" in snap.tags and any(sid_one in w for w in snap.warnings)
    assert fix["lost"][0]["size"] == (one / "text.txt").stat().st_size
    assert snap.summary.total_files == 3
    restore(repo, fix["repaired"], tmp_path / "r")
    got = _files(restored(tmp_path / "r", one))
    want = _files(one)
    del want["text.txt"]
    assert got == want
    again = _repair(repo_dir, "snapshots")
    assert again.code == 0 and "nothing to repair" in again.stdout
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_truncated_or_deleted_pack(tmp_path: Path, damage: str) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    blob = _file_blobs(repo_dir, sid_one, "text.txt")[0]
    pack = Repository.open(repo_dir).index.get(blob).pack  # type: ignore[union-attr]
    path = _pack_path(repo_dir, pack)
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = _repair(repo_dir, "packs", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["lost_blobs"] and sid_one in doc["affected_snapshots"]
    assert (doc["missing_packs"] == [pack]) == (damage == "delete")
    assert not path.exists()
    assert _repair(repo_dir, "snapshots", "--forget").code == 0
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


def test_a_damaged_tree_keeps_the_directory_empty(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    sub = _subtree(repo_dir, sid_one, "sub")
    _flip_blob(repo_dir, sub)
    pruned = invoke_main(["--repo", str(repo_dir), "prune"], env_for(tmp_path))
    assert pruned.code == 1 and "repair packs" in pruned.stderr
    assert _repair(repo_dir, "packs").code == 0
    pruned = invoke_main(["--repo", str(repo_dir), "prune"], env_for(tmp_path))
    assert pruned.code == 1 and "repair snapshots" in pruned.stderr
    result = _repair(repo_dir, "snapshots", "--forget", "--json")
    assert result.code == 0, result.stderr
    [fix] = result.json()["snapshots"]
    assert fix["lost"] == [{"path": str(one / "sub"), "what": "directory", "blob": sub,
                            "size": 0}]
    repo = Repository.open(repo_dir)
    restore(repo, fix["repaired"], tmp_path / "r")
    out = restored(tmp_path / "r", one)
    assert (out / "sub").is_dir() and not any((out / "sub").iterdir())
    assert (out / "text.txt").read_bytes() == (one / "text.txt").read_bytes()
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


# --------------------------------------------------------------------------- manifests, prune


def test_a_damaged_manifest_is_listed_and_removed_with_forget(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    manifest = repo_dir / "snapshots" / sid_one
    data = bytearray(manifest.read_bytes())
    data[len(data) // 2] ^= 0x01
    manifest.write_bytes(bytes(data))
    before = _store(repo_dir)
    pruned = invoke_main(["--repo", str(repo_dir), "prune"], env_for(tmp_path))
    assert pruned.code == 1 and "repair snapshots" in pruned.stderr
    assert _store(repo_dir) == before
    kept = _repair(repo_dir, "snapshots")
    assert kept.code == 1 and sid_one in kept.stdout and "--forget" in kept.stdout
    assert _repair(repo_dir, "snapshots", "--forget", "--dry-run").code == 0
    assert manifest.exists()
    gone = _repair(repo_dir, "snapshots", "--forget", "--json")
    assert gone.code == 0 and gone.json()["manifests_removed"] == [sid_one]
    assert not manifest.exists()
    assert _repair(repo_dir, "snapshots").code == 0
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


def test_prune_keeps_damage_records_and_stops_on_damaged_data(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    blob = _file_blobs(repo_dir, sid_one, "text.txt")[0]
    pack = _flip_blob(repo_dir, blob)
    repo = Repository.open(repo_dir)
    repo.record_damage(blob, pack, "test")
    repo.flush_damage()
    before = _store(repo_dir)
    pruned = invoke_main(["--repo", str(repo_dir), "prune"], env_for(tmp_path))
    assert pruned.code == 1 and "repair packs" in pruned.stderr
    assert _store(repo_dir) == before
    assert _repair(repo_dir, "packs").code == 0
    assert _repair(repo_dir, "snapshots", "--forget").code == 0
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


def test_every_repair_command_has_help(tmp_path: Path) -> None:
    for sub in ((), ("config",), ("index",), ("packs",), ("snapshots",)):
        result = invoke_main(["repair", *sub, "--help"], env_for(tmp_path))
        assert result.code == 0 and "Usage" in result.stdout


def test_a_healthy_repository_needs_no_repair(tmp_path: Path) -> None:
    repo_dir, *_ = _setup(tmp_path)
    before = _store(repo_dir)
    for sub in ("config", "packs", "snapshots"):
        result = _repair(repo_dir, sub, "--json")
        assert result.code == 0 and result.json()["nothing_to_do"], result.stdout
    assert _store(repo_dir) == before


def test_repair_snapshots_sees_a_missing_pack_and_refuses_a_broken_index(tmp_path: Path) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    index_file = sorted((repo_dir / "index").iterdir())[0]
    good = index_file.read_bytes()
    index_file.write_bytes(good[: len(good) // 2])
    refused = _repair(repo_dir, "snapshots", "--forget")
    assert refused.code == 1 and "repair index" in refused.stderr
    index_file.write_bytes(good)
    blob = _file_blobs(repo_dir, sid_one, "sub", "deep.txt")[0]
    pack = Repository.open(repo_dir).index.get(blob).pack  # type: ignore[union-attr]
    _pack_path(repo_dir, pack).unlink()
    result = _repair(repo_dir, "snapshots", "--json")  # before `repair packs`: the pack is gone
    fixes = {f["snapshot"]: f for f in result.json()["snapshots"]}
    assert sid_one in fixes
    assert result.code == (0 if all(f["repaired"] for f in fixes.values()) else 1)
    assert _repair(repo_dir, "packs").code == 0
    assert _repair(repo_dir, "snapshots", "--forget").code == 0
    _heal_and_verify(repo_dir, tmp_path, one, two, sid_two)


# --------------------------------------------------------------------------- interrupted


class Crash(Exception):
    """The process dies here."""


def _changes(repo_dir: Path, run: Any) -> int:
    """How many saves and removes ``run(repo)`` makes on a copy of the repository."""
    scratch = repo_dir.parent / "count"
    shutil.copytree(repo_dir, scratch)
    backend = FaultyBackend(LocalBackend(scratch))
    run(_through(backend, scratch))
    n = backend.count("save", "remove")
    shutil.rmtree(scratch)
    return n


def _through(backend: FaultyBackend, repo_dir: Path) -> Repository:
    """The repository at ``repo_dir`` read and written through ``backend`` (with its key in
    the encrypted test mode)."""
    opened = Repository.open(repo_dir)
    return Repository(backend, opened.config, opened.cipher)


@pytest.mark.parametrize("what", ["index", "packs"])
def test_a_repair_killed_at_any_write_loses_nothing_more(tmp_path: Path, what: str) -> None:
    repo_dir, one, two, sid_one, sid_two = _setup(tmp_path)
    if what == "index":
        for f in (repo_dir / "index").iterdir():
            f.write_bytes(f.read_bytes()[:-1])

        def run(repo: Repository) -> None:
            write_rebuilt_index(repo, plan_index_rebuild(repo))
    else:
        _flip_blob(repo_dir, _file_blobs(repo_dir, sid_one, "sub", "deep.txt")[0])

        def run(repo: Repository) -> None:
            execute_pack_repair(repo, plan_pack_repair(repo))
    total = _changes(repo_dir, run)
    assert total >= 2
    for k in range(total):
        work = tmp_path / f"k{k}"
        shutil.copytree(repo_dir, work / "repo")
        backend = FaultyBackend(LocalBackend(work / "repo"))
        backend.fail(("save", "remove"), nth=k, error=Crash)
        with pytest.raises(Crash):
            run(_through(backend, work / "repo"))
        for args in (("index",), ("packs",), ("snapshots", "--forget")):
            out = _repair(work / "repo", *args)
            assert out.code == 0, (k, args, out.stdout, out.stderr)
        _assert_checks_clean(work / "repo")
        _assert_restores(work / "repo", sid_two, two, work / "r-two")
        repo = Repository.open(work / "repo")
        [sid] = [s for s, p in repo.snapshots() if p.sources == (str(one),)]
        restore(repo, sid, work / "r-one")
        lost = {"sub/deep.txt"} if what == "packs" else set()
        want = {k: v for k, v in _files(one).items() if k not in lost}
        assert _files(restored(work / "r-one", one)) == want, k


def test_a_damage_record_whose_copy_reads_back_is_dropped(tmp_path: Path) -> None:
    repo_dir, *_ = _setup(tmp_path)
    repo = Repository.open(repo_dir)
    entry = next(iter(repo.index))
    repo.record_damage(entry.id, entry.pack, "a read failed once")
    repo.flush_damage()
    assert Repository.open(repo_dir).index.is_damaged(entry.id)
    result = _repair(repo_dir, "packs", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["obsolete_damage_records"] == 1 and doc["damaged_packs"] == []
    assert doc["lost_blobs"] == [] and doc["result"]["packs_removed"] == 0
    repo = Repository.open(repo_dir)
    assert entry.id in repo.index and not repo.index.damaged
    assert _repair(repo_dir, "packs", "--json").json()["nothing_to_do"]
    _assert_checks_clean(repo_dir)
