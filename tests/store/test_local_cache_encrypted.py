"""The local cache's memory of the repositories opened encrypted (``local_cache.
remember_encrypted``): by id and by location, forgotten for a location where a new repository
is made, bounded, checked when read, nothing with the cache turned off."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapkit.store import local_cache


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SNAPKIT_NO_CACHE", raising=False)
    monkeypatch.setenv("SNAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_remembered_by_id_and_by_location(cache: Path) -> None:
    assert local_cache.seen_encrypted("a" * 32, "/r") is None
    local_cache.remember_encrypted("a" * 32, "/r", "mac-a")
    assert local_cache.seen_encrypted("a" * 32, "/elsewhere") == "mac-a"
    assert local_cache.seen_encrypted("b" * 32, "/r") == ""  # another id at the same place
    assert local_cache.seen_encrypted(None, "/r") == ""
    assert local_cache.seen_at("/r") == [("a" * 32, "mac-a")]
    assert (cache / "CACHEDIR.TAG").is_file()
    assert b"/r" not in (cache / local_cache.SEEN_ENCRYPTED).read_bytes()  # (a hash of it)
    local_cache.forget_location("/r")
    assert local_cache.seen_encrypted("a" * 32, "/r") is None


def test_a_damaged_file_is_ignored_and_the_list_is_bounded(cache: Path) -> None:
    for i in range(local_cache.SEEN_MAX + 5):
        local_cache.remember_encrypted(f"{i:032x}", f"/r{i}", "m")
    assert local_cache.seen_encrypted(f"{0:032x}", "/nowhere") is None  # the oldest dropped
    last = local_cache.SEEN_MAX + 4
    assert local_cache.seen_encrypted(f"{last:032x}", "/nowhere") == "m"
    path = cache / local_cache.SEEN_ENCRYPTED
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    assert local_cache.seen_encrypted(f"{last:032x}", "/nowhere") is None


def test_nothing_is_kept_with_the_cache_turned_off(cache: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPKIT_NO_CACHE", "1")
    local_cache.remember_encrypted("a" * 32, "/r", "m")
    assert local_cache.seen_encrypted("a" * 32, "/r") is None
    assert not cache.exists()
