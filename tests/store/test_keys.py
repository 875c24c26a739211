"""Key files of an encrypted repository (``snapkit.store.keys``) on a local backend: several
passphrases for one master key, the wrong one refused (exit 12), passphrase changes and
removals that never leave the repository without a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams, MasterKey
from snapkit.format.errors import EXIT_WRONG_PASSPHRASE, IntegrityError, UsageError, WrongPassphrase
from snapkit.store import keys
from snapkit.store.backend import LocalBackend

FAST = KdfParams(MIN_SCRYPT_N, b"0123456789abcdef")


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    b = LocalBackend(tmp_path / "repo")
    b.create()
    return b


def test_every_passphrase_opens_the_same_master_key(backend: LocalBackend) -> None:
    master = MasterKey.generate()
    first = keys.add_key(backend, master, b"alice", FAST)
    second = keys.add_key(backend, master, b"bob", FAST)
    for pw, name in ((b"alice", first), (b"bob", second)):
        opened_by, key = keys.unlock(backend, pw, "repo")
        assert opened_by == name and key.to_bytes() == master.to_bytes()
    listed, broken = keys.list_keys(backend)
    assert {k.id for k in listed} == {first, second} and broken == {}
    assert (backend.root / "keys" / first).stat().st_mode & 0o777 == 0o600


def test_a_wrong_passphrase_exits_12_naming_the_repository(backend: LocalBackend) -> None:
    keys.add_key(backend, MasterKey.generate(), b"right", FAST)
    with pytest.raises(WrongPassphrase, match="wrong passphrase for repo") as info:
        keys.unlock(backend, b"wrong", "repo")
    assert info.value.exit_code == EXIT_WRONG_PASSPHRASE == 12


def test_no_key_file_at_all_is_named(backend: LocalBackend) -> None:
    with pytest.raises(IntegrityError, match="has no key file"):
        keys.unlock(backend, b"any", "repo")


def test_a_damaged_key_file_is_listed_and_the_others_still_open(backend: LocalBackend) -> None:
    master = MasterKey.generate()
    good = keys.add_key(backend, master, b"pw", FAST)
    backend.save("keys", "ab" * 16, b"{not json")
    listed, broken = keys.list_keys(backend)
    assert [k.id for k in listed] == [good] and list(broken) == ["ab" * 16]
    assert keys.unlock(backend, b"pw", "repo")[0] == good


def test_changing_a_passphrase_and_removing_keys(backend: LocalBackend) -> None:
    master = MasterKey.generate()
    only = keys.add_key(backend, master, b"old", FAST)
    with pytest.raises(UsageError, match="last one"):
        keys.remove_key(backend, only)
    new = keys.change_passphrase(backend, only, master, b"new", FAST)
    assert [k.id for k in keys.list_keys(backend)[0]] == [new]
    with pytest.raises(WrongPassphrase):
        keys.unlock(backend, b"old", "repo")
    spare = keys.add_key(backend, master, b"spare", FAST)
    with pytest.raises(UsageError, match="the one this passphrase opened"):
        keys.remove_key(backend, new, in_use=new)
    keys.remove_key(backend, new, in_use=spare)
    assert keys.unlock(backend, b"spare", "repo")[0] == spare
    with pytest.raises(UsageError, match="no key file"):
        keys.remove_key(backend, "cd" * 16)


def test_a_repository_created_before_key_files_gets_its_keys_dir(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "old")
    b.create()
    (tmp_path / "old" / "keys").rmdir()
    name = keys.add_key(b, MasterKey.generate(), b"pw", FAST)
    assert (tmp_path / "old" / "keys" / name).is_file()
    assert (tmp_path / "old" / "keys").stat().st_mode & 0o777 == 0o700
