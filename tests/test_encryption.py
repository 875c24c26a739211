"""Encrypted repositories through the store: snapshots round-trip, nothing readable is at
rest, the passphrase is needed and checked, and a tampered byte in any object kind is found
(by ``check``, and never written out as data by a restore)."""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import pytest
from helpers import make_tree, restore, take

from snapkit.capture.chunker import Chunker
from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.format.errors import IntegrityError, PassphraseNeeded, WrongPassphrase
from snapkit.format.model import KIND_DATA, KIND_TREE, content_id
from snapkit.maintain.check import check_repository
from snapkit.store.index import Index
from snapkit.store.repository import Repository

PASSPHRASE = b"correct horse battery staple"
#: The tests contrasting plain and encrypted repositories (or a missing passphrase) do not
#: apply in the encrypted test mode, where every repository is encrypted and every open given
#: the passphrase (tests/encrypted_mode.py).
contrast = pytest.mark.skipif(os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1",
                              reason="contrasts plain and encrypted repositories")

MARKER = b"ThisIsTheSecretContentOfMyOpenClawApiKey-4f1c"
SECRET_NAME = "auth-profiles-secret-name.json"


def fast_kdf() -> KdfParams:
    return KdfParams(MIN_SCRYPT_N, os.urandom(16))


def encrypted(path: Path) -> Repository:
    return Repository.init(path, passphrase=PASSPHRASE, kdf=fast_kdf())


def reopen(path: Path, passphrase: bytes = PASSPHRASE) -> Repository:
    return Repository.open(path, lambda: passphrase)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src", {
        f"d/{SECRET_NAME}": MARKER * 40,  # compressible: stored zstd-coded
        "d/random.bin": os.urandom(200_000) + MARKER,  # several chunks, stored raw
        "d/sub/small.txt": MARKER,  # one small blob
    })


def test_a_snapshot_round_trips_and_nothing_readable_is_at_rest(tmp_path: Path,
                                                                src: Path) -> None:
    repo = encrypted(tmp_path / "repo")
    assert repo.config.encrypted and repo.config.version == 2
    sid, _ = take(repo, src)
    again = reopen(tmp_path / "repo")
    out = tmp_path / "out"
    restore(again, sid, out)
    for rel in (f"d/{SECRET_NAME}", "d/random.bin", "d/sub/small.txt"):
        restored = out / str(src).lstrip("/") / rel
        assert restored.read_bytes() == (src / rel).read_bytes()
    needles = [n for n in (MARKER[:24], SECRET_NAME.encode(), str(src).encode(),
                           socket.gethostname().encode()) if len(n) >= 12]  # (not by chance)
    for f in (tmp_path / "repo").rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not [n for n in needles if n in data], f


def test_chunk_ids_computed_off_the_saving_thread_are_the_keyed_ids(tmp_path: Path) -> None:
    """An encrypted snapshot hands each chunk to the saver without its id (keyed ids are
    computed on a thread of their own, settled at the end of a directory's files): the
    stored blobs are the keyed ids of the chunks, a file repeated is stored once, the counts
    are right, and the files restore."""
    big = os.urandom(300_000)
    src = make_tree(tmp_path / "src", {"a/one.bin": big, "a/two.bin": big, "a/small.txt": b"x",
                                       "b/c.txt": b"hello", "top.txt": b"top"})
    repo = encrypted(tmp_path / "repo")
    sid, snap = take(repo, src)
    assert snap.summary.files_new == 5
    chunker = Chunker(repo.config.chunker)
    chunks = [c for data in (big, b"x", b"hello", b"top")
              for c in chunker.chunks(io.BytesIO(data), len(data))]
    assert len(chunks) > 4  # the big file is several chunks
    data_ids = {e.id for e in repo.index if e.kind == KIND_DATA}
    assert data_ids == {repo.cipher.content_id(c) for c in chunks}
    (src / "b" / "c.txt").write_bytes(b"hello, changed")
    _, again = take(repo, src, force=True)  # every file read again
    assert (again.summary.files_new, again.summary.files_changed,
            again.summary.files_unmodified) == (0, 1, 4)
    out = tmp_path / "out"
    restore(reopen(tmp_path / "repo"), sid, out)
    assert (out / str(src).lstrip("/") / "a" / "two.bin").read_bytes() == big


@contrast
def test_the_passphrase_is_needed_and_checked(tmp_path: Path, src: Path) -> None:
    repo = encrypted(tmp_path / "repo")
    take(repo, src)
    with pytest.raises(PassphraseNeeded, match="is encrypted"):
        Repository.open(tmp_path / "repo")
    with pytest.raises(WrongPassphrase, match="wrong passphrase") as info:
        reopen(tmp_path / "repo", b"wrong")
    assert info.value.exit_code == 12
    assert len(reopen(tmp_path / "repo").snapshots()) == 1


@contrast
def test_ids_are_keyed_per_repository(tmp_path: Path, src: Path) -> None:
    one, two = encrypted(tmp_path / "one"), encrypted(tmp_path / "two")
    plain = Repository.init(tmp_path / "plain")
    ids = []
    for repo in (one, two, plain):
        take(repo, src)
        ids.append({e.id for e in repo.index if e.kind == KIND_DATA})
    assert not ids[0] & ids[1] and not ids[0] & ids[2]
    assert content_id(MARKER) in ids[2]


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", [KIND_DATA, KIND_TREE])
def test_a_tampered_blob_is_found_and_never_restored(tmp_path: Path, src: Path,
                                                     kind: int) -> None:
    path = tmp_path / "repo"
    repo = encrypted(path)
    sid, _ = take(repo, src)
    entry = next(e for e in reopen(path).index if e.kind == kind)
    _flip(path / "packs" / entry.pack[:2] / entry.pack, entry.offset + entry.length // 2)
    report = check_repository(reopen(path), read_data=True)
    assert not report.ok
    assert any(entry.id in e and "authentication failed" in e for e in report.errors), \
        report.errors
    assert [a.id for a in report.affected] == [sid]
    out = tmp_path / "out"
    result = restore(reopen(path), sid, out)
    assert result.failed  # what depended on it is reported, not written as data
    for f in out.rglob("*"):
        if f.is_file():
            assert f.read_bytes() in ((src / "d" / SECRET_NAME).read_bytes(),
                                      (src / "d" / "random.bin").read_bytes(),
                                      (src / "d" / "sub" / "small.txt").read_bytes())


def test_a_tampered_trailer_is_found(tmp_path: Path, src: Path) -> None:
    path = tmp_path / "repo"
    take(encrypted(path), src)
    pack = next(iter((path / "packs").rglob("*")))
    while pack.is_dir():
        pack = next(iter(pack.iterdir()))
    _flip(pack, pack.stat().st_size - 30)  # inside the sealed trailer
    report = check_repository(reopen(path), read_data=True)
    assert any(pack.name in e and "does not match its id" in e for e in report.errors)


def test_forged_index_files_and_manifests_do_not_open(tmp_path: Path, src: Path) -> None:
    """Names are the xxh3-128 of the stored bytes, which anyone can compute: a file written
    with the right name but not sealed under the key is refused by its authentication."""
    path = tmp_path / "repo"
    sid, _ = take(encrypted(path), src)
    forged = os.urandom(300)
    (path / "index" / content_id(forged)).write_bytes(forged)
    index = Index.load(reopen(path).backend, reopen(path).cipher)
    assert "authentication failed" in index.broken[content_id(forged)]
    (path / "snapshots" / content_id(forged)).write_bytes(forged)
    repo = reopen(path)
    assert [s for s, _ in repo.snapshots()] == [sid]
    assert "authentication failed" in repo.damaged_snapshots[content_id(forged)]


def test_an_altered_config_or_key_file_is_refused(tmp_path: Path, src: Path) -> None:
    path = tmp_path / "repo"
    take(encrypted(path), src)
    config = (path / "config").read_text()
    (path / "config").write_text(config.replace('"zstd_level": 3', '"zstd_level": 19'))
    with pytest.raises(IntegrityError, match=r"config of .* was altered"):
        reopen(path)
    (path / "config").write_text(config)
    (key,) = (path / "keys").iterdir()
    _flip(key, len(key.read_bytes()) // 2)
    with pytest.raises((WrongPassphrase, IntegrityError)):
        reopen(path)


def test_a_tampered_lock_is_treated_as_damaged_and_removed(tmp_path: Path, src: Path) -> None:
    """A lock file that does not open under the key locks no one: `unlock` names it damaged
    and removes it, as it does a lock that does not decode."""
    from snapkit.store.lock import unlock

    path = tmp_path / "repo"
    repo = encrypted(path)
    forged = os.urandom(200)
    (path / "locks" / ("ab" * 16)).write_bytes(forged)
    removed, kept = unlock(repo.backend, cipher=repo.cipher)
    assert [(r.name, r.damaged) for r in removed] == [("ab" * 16, True)] and not kept
    with repo.lock(exclusive=True, operation="test"):  # and it does not block anyone
        pass


@contrast
def test_a_damaged_config_of_an_encrypted_repository_is_repaired(tmp_path: Path,
                                                                  src: Path) -> None:
    """The config of an encrypted repository lost: it opens (its key files say it is
    encrypted) with the passphrase, and `repair config` writes an encrypted one again."""
    from snapkit.maintain.repair_config import check_config, write_config

    path = tmp_path / "repo"
    sid, _ = take(encrypted(path), src)
    (path / "config").write_bytes(b"{not json")
    with pytest.raises(PassphraseNeeded):
        Repository.open(path)
    repo = reopen(path)
    assert repo.config_damaged and repo.cipher.encrypted
    assert check_config(repo).blobs_verified > 0
    config = write_config(repo)
    assert config.encrypted and config.version == 2
    again = reopen(path)
    assert again.config_damaged is None
    assert [s for s, _ in again.snapshots()] == [sid]
    assert check_repository(again, read_data=True).ok


def test_export_notes_a_plain_archive_only_when_it_writes_one(tmp_path: Path, src: Path) -> None:
    """The note that the archive is not encrypted comes with the archive; an export refused
    before writing (the output exists) is one error line, nothing else."""
    from helpers import env_for, invoke_main

    path = tmp_path / "repo"
    take(encrypted(path), src)
    env = {**env_for(tmp_path), "SNAPKIT_REPO": str(path),
           "SNAPKIT_PASSWORD": PASSPHRASE.decode()}
    out = invoke_main(["export", "latest", "-o", str(tmp_path / "a.tar.gz")], env)
    assert out.code == 0, out.stderr
    assert "the archive is not" in out.stderr
    again = invoke_main(["export", "latest", "-o", str(tmp_path / "a.tar.gz")], env)
    assert again.code == 2
    assert again.stderr.count("\n") == 1 and "exists" in again.stderr
