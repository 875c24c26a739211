"""The frozen encrypted repository (format version 2, ``repos/v2-encrypted.tar.gz``, written
once by ``tests/frozen_encrypted.py``): every later snapkit must open it with either of its
passphrases, list its snapshot, verify it and restore it byte for byte; a wrong passphrase is
exit 12."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest
from frozen_encrypted import PASSPHRASE, SPARE, tree
from helpers import CliResult, env_for, invoke_main

REPOS = Path(__file__).resolve().parent / "repos"
ARCHIVE = REPOS / "v2-encrypted.tar.gz"
SHA256 = "e0e527ec9d8efdacf387d69aba8c43c63c130667778ff859d4781b17eb310671"
SNAP = "4df41cab2a278c68bf6db1f6c58e75ec"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "repo"


def sk(repo: Path, *args: str, passphrase: bytes = PASSPHRASE) -> CliResult:
    env = {**env_for(repo.parent / "home"), "SNAPKIT_REPO": str(repo),
           "SNAPKIT_PASSWORD": passphrase.decode()}
    return invoke_main(args, env)


def test_the_archive_is_the_frozen_one() -> None:
    assert hashlib.sha256(ARCHIVE.read_bytes()).hexdigest() == SHA256


@pytest.mark.parametrize("passphrase", [PASSPHRASE, SPARE])
def test_it_opens_lists_and_checks_with_either_key(repo: Path, passphrase: bytes) -> None:
    listed = sk(repo, "snapshots", "--json", passphrase=passphrase)
    assert listed.code == 0, listed.stderr
    (snap,) = json.loads(listed.stdout)
    assert (snap["id"], snap["host"], snap["tags"]) == (SNAP, "frozen", ["v2"])
    checked = sk(repo, "check", "--read-data", passphrase=passphrase)
    assert checked.code == 0, checked.stdout + checked.stderr


def test_it_restores_byte_for_byte(repo: Path, tmp_path: Path) -> None:
    out = sk(repo, "restore", SNAP, "--target", str(tmp_path / "t"))
    assert out.code == 0, out.stderr
    source = json.loads(sk(repo, "snapshots", "--json").stdout)[0]["sources"][0]
    restored = tmp_path / "t" / source.lstrip("/")
    want = tmp_path / "want"
    want.mkdir()
    tree(want)
    files = sorted(p.relative_to(want) for p in want.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(restored) for p in restored.rglob("*") if p.is_file())
    for rel in files:
        assert (restored / rel).read_bytes() == (want / rel).read_bytes(), rel


def test_a_wrong_passphrase_is_exit_12(repo: Path) -> None:
    out = sk(repo, "snapshots", passphrase=b"not the passphrase")
    assert out.code == 12
    assert out.stderr.count("\n") == 1 and "wrong passphrase" in out.stderr
