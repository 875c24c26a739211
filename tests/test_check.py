"""`snapkit check`: a healthy repository passes; damage and loss are found."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from snapkit.capture.snapshot import SnapOptions, create_snapshot
from snapkit.cli.main import cli
from snapkit.format.model import KIND_DATA, content_id
from snapkit.maintain.check import check_repository
from snapkit.store import codec
from snapkit.store.pack import PackBuilder
from snapkit.store.repository import Repository


def _repo_with_snapshot(tmp_path: Path) -> Repository:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "a.txt").write_text("hello\n" * 1000)
    (src / "d" / "b.bin").write_bytes(os.urandom(300_000))
    repo = Repository.init(tmp_path / "repo")
    create_snapshot(repo, SnapOptions(sources=(str(src),)), None)
    return Repository.open(tmp_path / "repo")


def _packs(repo_dir: Path) -> list[Path]:
    return sorted(p for p in (repo_dir / "packs").rglob("*") if p.is_file())


def test_a_fresh_repository_checks_clean(tmp_path: Path) -> None:
    repo = _repo_with_snapshot(tmp_path)
    for read_data in (False, True):
        report = check_repository(repo, read_data=read_data)
        assert report.ok, report.errors
        assert report.snapshots == 1 and report.files == 2 and report.trees >= 3


def test_a_flipped_byte_is_found_with_read_data(tmp_path: Path) -> None:
    _repo_with_snapshot(tmp_path)
    pack = _packs(tmp_path / "repo")[0]
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pack.write_bytes(bytes(data))
    assert check_repository(Repository.open(tmp_path / "repo"), read_data=False).ok
    report = check_repository(Repository.open(tmp_path / "repo"), read_data=True)
    assert not report.ok and "damaged" in report.errors[0]


def test_a_missing_pack_is_an_error_and_exit_1(tmp_path: Path) -> None:
    _repo_with_snapshot(tmp_path)
    for pack in _packs(tmp_path / "repo"):
        pack.unlink()
    result = CliRunner().invoke(cli, ["check", "--repo", str(tmp_path / "repo")])
    assert result.exit_code == 1
    assert "missing" in result.output


def test_packs_no_index_lists_holding_needed_data_are_an_error(tmp_path: Path) -> None:
    _repo_with_snapshot(tmp_path)
    for index in (tmp_path / "repo" / "index").iterdir():
        index.unlink()
    report = check_repository(Repository.open(tmp_path / "repo"))
    assert not report.notes
    assert any("not in any index but holds" in e and "the data is there" in e
               for e in report.errors)
    assert report.repairs == ("snapkit repair index",)


def test_an_unused_unindexed_pack_is_only_a_note(tmp_path: Path) -> None:
    repo = _repo_with_snapshot(tmp_path)
    builder = PackBuilder()
    plain = os.urandom(1000)
    builder.add(KIND_DATA, content_id(plain), codec.encode(plain, 3), len(plain))
    pack, data, _ = builder.finish()
    repo.backend.save("packs", pack, data)
    report = check_repository(Repository.open(tmp_path / "repo"), read_data=True)
    assert report.ok, report.errors
    assert any("not in any index" in n and "unused" in n for n in report.notes)
