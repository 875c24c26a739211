"""`snapkit check` on damaged repositories: it names the damaged blob and its pack, the files
and directories of EVERY snapshot that loses data, the summary and the repair; --json says
the same; --read-data-subset is deterministic and m runs cover every pack once; the damage it
finds is recorded, so the next `snap` stores the chunk again and restores byte-identical."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import (
    File,
    assert_trees_equal,
    init_repo,
    invoke_main,
    make_tree,
    restore,
    restored,
    take,
)

from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.format.errors import UsageError
from snapkit.format.model import Node
from snapkit.maintain.check import AffectedSnapshot, CheckReport, check_repository, parse_subset
from snapkit.ops.check import check
from snapkit.store.repository import Repository


class Built:
    """Three snapshots of ``src`` sharing the tree of ``src/d`` and the chunks of
    ``src/d/b.bin`` (only ``src/top.txt`` changes), and a fourth of ``other``."""

    def __init__(self, tmp: Path) -> None:
        self.repo_path = tmp / "repo"
        self.src = make_tree(tmp / "src", {
            "top.txt": "one\n",
            "d/b.bin": File(os.urandom(200_000)),
            "d/c.txt": "c\n" * 500,
            "d/e/f.txt": "f\n",
        })
        self.other = make_tree(tmp / "other", {"o.txt": "other\n"})
        repo = init_repo(self.repo_path)
        self.sids = [take(repo, self.src)[0]]
        for text in ("two\n", "three\n"):
            (self.src / "top.txt").write_text(text)
            self.sids.append(take(repo, self.src)[0])
        self.other_sid = take(repo, self.other)[0]
        self.b = str(self.src / "d" / "b.bin")
        self.d = str(self.src / "d")

    def open(self) -> Repository:
        return Repository.open(self.repo_path)

    def node(self, path: str, sid: str | None = None) -> Node:
        repo = self.open()
        tree = repo.load_tree(repo.load_snapshot(sid or self.sids[0]).tree)
        parts = [p for p in path.split("/") if p]
        for i, name in enumerate(parts):
            node = next(n for n in tree.nodes if n.name == name)
            if i == len(parts) - 1:
                return node
            assert node.subtree is not None
            tree = repo.load_tree(node.subtree)
        raise AssertionError(path)

    def pack_file(self, blob: str) -> tuple[Path, int, int]:
        """The pack file holding ``blob``, and the blob's offset and length in it."""
        entry = self.open().index.get(blob)
        assert entry is not None
        return (self.repo_path / "packs" / entry.pack[:2] / entry.pack, entry.offset,
                entry.length)

    def flip(self, blob: str) -> str:
        path, offset, length = self.pack_file(blob)
        data = bytearray(path.read_bytes())
        data[offset + length // 2] ^= 0x40
        path.write_bytes(bytes(data))
        return path.name


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return Built(tmp_path)


def _cli(built: Built, *args: str) -> tuple[int, str, str]:
    out = invoke_main(["check", "--repo", str(built.repo_path), *args])
    return out.code, out.stdout, out.stderr


def _loses(snap: AffectedSnapshot, path: str) -> bool:
    """``path`` is a damaged file of ``snap``, or lies below one of its lost directories."""
    return path in snap.files or any(path.startswith(d.rstrip("/") + "/") for d in snap.dirs)


def _assert_every_snapshot(report: CheckReport, built: Built, files: tuple[str, ...] = (),
                           dirs: tuple[str, ...] = ()) -> None:
    assert [a.id for a in report.affected] == built.sids
    for snap in report.affected:
        assert (snap.files, snap.dirs) == (files, dirs)
    assert report.unaffected == (built.other_sid,)


def test_a_flipped_chunk_names_blob_pack_files_and_every_snapshot(built: Built) -> None:
    chunk = built.node(built.b).content[0]
    pack = built.flip(chunk)
    assert check_repository(built.open()).ok  # the structure is intact
    report = check_repository(built.open(), read_data=True)
    assert not report.ok
    assert report.errors[0].startswith(f"pack {pack} does not match its id (damaged): 1 of ")
    assert report.errors[1].startswith(f"blob {chunk} in pack {pack} is damaged")
    assert [(d.id, d.kind, d.pack) for d in report.damaged] == [(chunk, "data", pack)]
    assert report.packs_damaged == (pack,)
    _assert_every_snapshot(report, built, files=(built.b,))
    assert report.repairs == ("snapkit repair packs", "snapkit repair snapshots")


def test_a_damaged_tree_names_the_directory_in_every_snapshot(built: Built) -> None:
    tree = built.node(built.d).subtree
    assert tree is not None and built.node(built.d, built.sids[2]).subtree == tree
    built.flip(tree)
    code, out, _ = _cli(built)
    assert code == 1
    assert f"tree at {built.d} (snapshot {built.sids[0][:8]})" in out
    assert out.count(f"{built.d} (directory lost: its contents are unknown)") == 3
    for sid in built.sids:
        assert f"snapshot {sid[:8]}: 0 files, 1 directory" in out
    assert ("damage: 3 snapshots affected (1 unaffected), 0 files, 1 directory; 1 blob "
            "damaged in 1 pack; run `snapkit repair packs` then `snapkit repair snapshots`"
            ) in out
    report = check_repository(built.open())  # recorded: found again without reading
    _assert_every_snapshot(report, built, dirs=(built.d,))
    assert "was recorded as damaged" in report.errors[0]


def test_a_missing_pack_loses_its_blobs_in_every_snapshot(built: Built) -> None:
    path, _, _ = built.pack_file(built.node(built.b).content[0])
    path.unlink()
    report = check_repository(built.open())
    assert report.packs_missing == (path.name,)
    assert f"pack {path.name} is in the index but missing" in report.errors[0]
    assert [a.id for a in report.affected] == built.sids  # the pack held their trees too
    assert all(_loses(snap, built.b) for snap in report.affected)
    assert {d.pack for d in report.damaged} == {path.name}
    assert all(d.reason == "pack missing" for d in report.damaged)


def test_a_truncated_pack_names_its_cut_off_blobs(built: Built) -> None:
    chunk = built.node(built.b).content[0]
    path, offset, length = built.pack_file(chunk)
    path.write_bytes(path.read_bytes()[: offset + length // 2])
    for read_data in (False, True):
        report = check_repository(built.open(), read_data=read_data)
        assert chunk in {d.id for d in report.damaged}
        if read_data:  # the trailer is gone: the index's entries say where the blobs were
            assert "blobs listed by the index (its trailer is unreadable" in report.errors[0]
        assert [a.id for a in report.affected] == built.sids
        assert all(_loses(snap, built.b) for snap in report.affected)


def test_chunks_no_index_lists_are_lost_files_and_the_data_is_there(built: Built) -> None:
    for index in (built.repo_path / "index").iterdir():
        index.unlink()
    code, out, _ = _cli(built)
    assert code == 1
    assert "the data is there, `snapkit repair index` lists it again" in out
    assert "their data is unused" not in out
    assert "run `snapkit repair index`\n" in out
    report = check_repository(built.open())
    assert {a.id for a in report.affected} == {*built.sids, built.other_sid}
    assert all(d.pack is None and d.reason == "not in any index" for d in report.damaged)


def test_json_holds_the_same(built: Built) -> None:
    chunk = built.node(built.b).content[0]
    pack = built.flip(chunk)
    code, out, _ = _cli(built, "--read-data", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["packs_read"] == doc["packs"]
    damage = doc["damage"]
    reason = "its bytes do not match its id (data corrupted)"
    if Repository.open(built.repo_path).cipher.encrypted:  # the encrypted test mode: unopened
        reason = "authentication failed (damaged or tampered)"  # (the blob named once)
    assert damage["blobs"] == [{"id": chunk, "kind": "data", "pack": pack, "reason": reason}]
    assert damage["packs_damaged"] == [pack] and damage["packs_missing"] == []
    assert damage["affected"] == [{"id": sid, "files": [built.b], "dirs": []}
                                  for sid in built.sids]
    assert damage["unaffected"] == [built.other_sid]
    assert (damage["damaged_files"], damage["lost_dirs"]) == (1, 0)
    assert damage["repairs"] == ["snapkit repair packs", "snapkit repair snapshots"]
    assert damage["summary"].startswith("damage: 3 snapshots affected (1 unaffected), 1 file")


def test_a_clean_repository_keeps_its_output(built: Built) -> None:
    code, out, _ = _cli(built, "--read-data")
    assert code == 0
    assert "damage" not in out and out.startswith("checked ")
    assert out.rstrip().endswith("no errors found")
    code, out, _ = _cli(built, "--json")
    doc = json.loads(out)
    assert doc["ok"] is True and doc["errors"] == [] and doc["damage"]["summary"] is None
    assert set(doc["damage"]["unaffected"]) == {*built.sids, built.other_sid}


# --------------------------------------------------------------------------- read-data subset


def _many_packs(tmp: Path) -> Path:
    repo = init_repo(tmp / "repo", pack_size=64 * 1024)
    src = make_tree(tmp / "src", {f"f{i}.bin": File(os.urandom(70_000)) for i in range(12)})
    take(repo, src)
    return tmp / "repo"


def test_read_data_subset_is_deterministic_and_m_runs_read_every_pack_once(
        tmp_path: Path) -> None:
    repo_path = _many_packs(tmp_path)
    packs = sorted(Repository.open(repo_path).index.packs())
    assert len(packs) >= 8
    groups = [parse_subset(f"{n}/3").select(packs) for n in (1, 2, 3)]
    assert sorted(p for g in groups for p in g) == packs  # each pack in exactly one group
    assert groups == [parse_subset(f"{n}/3").select(packs) for n in (1, 2, 3)]
    full = check(repo_path, read_data=True)
    runs = [check(repo_path, read_data_subset=f"{n}/3") for n in (1, 2, 3)]
    assert [r.packs_read for r in runs] == [len(g) for g in groups]
    assert sum(r.bytes_read for r in runs) == full.bytes_read
    assert check(repo_path, read_data_subset="25%").packs_read == -(-len(packs) // 4)
    assert parse_subset("25%").select(packs) == parse_subset("25%").select(reversed(packs))
    assert check(repo_path, read_data_subset="1/1").packs_read == len(packs)


def test_a_subset_finds_the_damage_only_in_the_group_holding_it(built: Built) -> None:
    pack = built.flip(built.node(built.b).content[0])
    for n in (1, 2):
        group = parse_subset(f"{n}/2").select([pack])
        report = check(built.repo_path, read_data_subset=f"{n}/2")
        assert (pack in report.packs_damaged) == bool(group)


@pytest.mark.parametrize("value", ["0%", "101%", "abc", "%", "3/2", "0/2", "1/0", "x/y", "1/2/3"])
def test_a_bad_subset_is_a_one_line_usage_error(built: Built, value: str) -> None:
    with pytest.raises(UsageError):
        parse_subset(value)
    code, out, err = _cli(built, "--read-data-subset", value)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "N%" in err and "n/m" in err


# --------------------------------------------------------------------------- healing


def test_check_records_the_damage_and_the_next_snap_stores_the_chunk_again(
        built: Built, tmp_path: Path) -> None:
    chunk = built.node(built.b).content[0]
    built.flip(chunk)
    assert not check(built.repo_path, read_data=True).ok
    repo = built.open()
    assert repo.index.is_damaged(chunk)  # recorded by check, read back by a new open
    parent = next(p for p in repo.snapshots() if p[0] == built.sids[-1])
    sid, _ = create_snapshot(repo, SnapOptions(sources=(str(built.src),)), parent)
    report = check_repository(built.open(), read_data=True)
    # The chunk has a good copy again: every snapshot, the old ones too, restores in full;
    # only the damaged copy is left, for `repair packs` to drop.
    assert report.affected == () and set(report.unaffected) == {*built.sids, built.other_sid,
                                                                  sid}
    assert report.repairs == ("snapkit repair packs",)
    assert [d.id for d in report.damaged] == [chunk]
    target = tmp_path / "target"
    restore(built.open(), sid, target)
    assert_trees_equal(built.src, restored(target, built.src))
    old = tmp_path / "old"
    restore(built.open(), built.sids[0], old)
    assert restored(old, built.b).read_bytes() == Path(built.b).read_bytes()


def test_a_damaged_config_is_an_error_naming_repair_config(built: Built) -> None:
    (built.repo_path / "config").write_bytes(b"\x00not a config")
    report = check_repository(built.open())
    assert not report.ok and "snapkit repair config" in report.errors[0]
    assert report.repairs == ("snapkit repair config",) and report.affected == ()


def test_a_damaged_manifest_is_an_error_said_once(built: Built) -> None:
    path = built.repo_path / "snapshots" / built.sids[1]
    path.write_bytes(path.read_bytes()[:-3])
    code, out, err = _cli(built)
    assert code == 1 and err == ""  # the open's warning is not repeated on stderr
    assert f"snapshot manifest {built.sids[1]} does not match its id" in out
    assert ("damage: 0 snapshots affected (3 unaffected); 1 snapshot manifest damaged; run "
            "`snapkit repair snapshots`") in out
    report = check_repository(built.open())
    assert report.snapshots_damaged == (built.sids[1],) and report.snapshots == 4
