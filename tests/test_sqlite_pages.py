"""SQLite databases are cut into blocks of whole pages (``snapkit.capture.sqlite.PageChunker``),
however they are read — online backup of a live database, plain read of one at rest, import
from an archive — so a day's scattered page changes cost a few blocks, not a few
content-defined chunks each, and the same pages deduplicate whichever way they came in."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from archives import invoke, ok
from helpers import cli_env, init_repo, init_twin, restore, take
from test_import import node_at

from snapkit.capture.sqlite import HEADER, PAGE_BLOCK, PageChunker, page_size
from snapkit.format.model import Node
from snapkit.store.repository import Repository

ROWS = 4000


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read (short reads, as pipes give)."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.pos, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        out = self.data[self.pos:self.pos + min(self.step, n if n >= 0 else self.step)]
        self.pos += len(out)
        return out


def header(page_field: int) -> bytes:
    return HEADER + page_field.to_bytes(2, "big") + b"\x02\x02"


def test_page_size_from_the_header() -> None:
    assert page_size(header(4096)) == 4096
    assert page_size(header(512)) == 512
    assert page_size(header(1)) == 65536  # the value 1 means 65,536
    for bad in (0, 256, 3000, 100):
        assert page_size(header(bad)) is None
    assert page_size(b"not a database at all") is None
    assert page_size(HEADER) is None  # too short to hold the page size


@pytest.mark.parametrize(("page", "block"), [(512, PAGE_BLOCK), (4096, PAGE_BLOCK),
                                             (16384, 16384), (65536, 65536)])
@pytest.mark.parametrize("step", [7, 8191, 1 << 20])
def test_blocks_are_whole_pages_from_offset_zero(page: int, block: int, step: int) -> None:
    data = os.urandom(block * 5 + 1234)
    chunker = PageChunker(page)
    blocks = list(chunker.chunks(Trickle(data, step)))  # type: ignore[arg-type]
    assert b"".join(blocks) == data
    assert [len(b) for b in blocks] == [block] * 5 + [1234]
    assert list(chunker.chunks(io.BytesIO(b""))) == []


def make_db(path: Path) -> sqlite3.Connection:
    """A WAL database of ~1.5 MB with ``ROWS`` rows, left open (a live writer: -wal exists)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    with con:
        con.executemany("INSERT INTO t VALUES (?, ?)",
                        ((i, f"row {i} " + os.urandom(150).hex()) for i in range(ROWS)))
    return con


def db_node(repo: Repository, snap_id: str, path: Path) -> Node:
    node = node_at(repo, repo.load_snapshot(snap_id), str(path))
    assert node is not None
    return node


def test_a_changed_row_costs_one_block_per_page_touched(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    db = src / "state.sqlite"
    con = make_db(db)
    repo = init_repo(tmp_path / "repo")
    first, _ = take(repo, src)
    with con:  # one row in the middle: its leaf page changes
        con.execute("UPDATE t SET body = 'changed' WHERE id = ?", (ROWS // 2,))
    second, _ = take(repo, src)
    a, b = db_node(repo, first, db), db_node(repo, second, db)
    assert len(b.content) == -(-b.size // PAGE_BLOCK)  # fixed blocks, the last one short
    assert all(c in repo.index for c in b.content)
    changed = [i for i, (x, y) in enumerate(zip(a.content, b.content, strict=True)) if x != y]
    # The row's leaf page, perhaps page 1 (the copy's header): 1,376,256 bytes, one block new.
    assert 1 <= len(changed) <= 2, changed
    con.close()


def test_a_database_at_rest_and_its_live_copy_share_their_blocks(tmp_path: Path) -> None:
    live, rest = tmp_path / "live", tmp_path / "rest"
    live.mkdir()
    con = make_db(live / "db.sqlite")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    repo = init_repo(tmp_path / "repo")
    first, _ = take(repo, live)  # a -wal exists: the online backup copy
    con.close()  # the last connection checkpoints and removes the -wal: now at rest
    assert not (live / "db.sqlite-wal").exists()
    rest.mkdir()
    os.rename(live / "db.sqlite", rest / "db.sqlite")
    second, _ = take(repo, rest)  # read plainly
    a, b = db_node(repo, first, live / "db.sqlite"), db_node(repo, second, rest / "db.sqlite")
    shared = set(a.content) & set(b.content)
    assert len(shared) >= len(b.content) - 2, (len(shared), len(b.content))


def test_an_imported_database_deduplicates_with_a_snapshot_of_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    con = make_db(src / "db.sqlite")
    con.close()
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    sid = ok(invoke(["snap", str(src), "--json"], env)).lines[-1]
    sid = json.loads(sid)["snapshot_id"]
    archive = tmp_path / "a.tar"
    ok(invoke(["export", sid, "-o", str(archive)], env))
    other = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo2"))
    init_twin(tmp_path / "repo2", Repository.open(tmp_path / "repo"))  # the same ids
    imported = ok(invoke(["import", str(archive), "--json"], other)).json()["snapshot_id"]
    a = db_node(Repository.open(tmp_path / "repo"), sid, src / "db.sqlite")
    b = db_node(Repository.open(tmp_path / "repo2"), imported, src / "db.sqlite")
    assert a.content == b.content and a.hash == b.hash
    assert len(b.content) == -(-b.size // PAGE_BLOCK)


def test_restoring_over_the_same_database_leaves_it_as_identical(tmp_path: Path) -> None:
    # The file already in the target is compared by the whole content's hash: re-cutting it
    # with the content-defined chunker would never match a database's page blocks.
    src = tmp_path / "src"
    src.mkdir()
    make_db(src / "db.sqlite").close()
    repo = init_repo(tmp_path / "repo")
    sid, _ = take(repo, src)
    first = restore(repo, sid, tmp_path / "out")
    assert first.files == 1
    again = restore(repo, sid, tmp_path / "out", overwrite="if-changed")
    assert (again.files, again.identical) == (0, 1)


def test_a_very_large_database_gets_larger_blocks() -> None:
    from snapkit.capture.sqlite import MAX_BLOCKS

    limit = PAGE_BLOCK * MAX_BLOCKS  # 1 GiB in 8 KiB blocks
    assert PageChunker(4096, limit).block == PAGE_BLOCK
    assert PageChunker(4096, limit + 1).block == 2 * PAGE_BLOCK
    assert PageChunker(4096, 10 * limit).block == 16 * PAGE_BLOCK
    assert PageChunker(65536, 10 * limit).block == 16 * PAGE_BLOCK
    for header_page in (4096, 1):
        hdr = header(header_page)
        chunker = PageChunker.for_header(hdr, 3 * limit)
        assert chunker is not None and chunker.block == max(4 * PAGE_BLOCK, page_size(hdr) or 0)
