"""``snapkit key add|list|remove|passwd`` through the CLI: a second passphrase opens the
repository, ``passwd`` retires the old one (and says so truly), a removed key's passphrase
stops working while the others keep working, the last key and the key in use (without
--force) are refused, a new passphrase that already opens a key file is refused, a key is
named by 4+ hex digits, times are shown as ``snapshots`` shows them, and a plain repository
says it has no keys. Each new key tunes scrypt (~0.5 s here)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from helpers import CliResult, invoke_main, one_line_error

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.store import keys as store_keys
from snapkit.store.cipher import Sealed
from snapkit.store.repository import Repository

FIRST = "first passphrase"
SPARE = "the spare in the safe"


def invoke(args: Sequence[str], env: dict[str, str], password: str | None = None) -> CliResult:
    extra = {} if password is None else {"SNAPKIT_PASSWORD": password}
    return invoke_main(args, {**env, **extra}, isolate=("SNAPKIT_PASSWORD_FILE",))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    Repository.init(tmp_path / "repo", passphrase=FIRST.encode(),
                    kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    return {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "SNAPKIT_REPO": str(tmp_path / "repo")}


def keys(env: dict[str, str], password: str) -> dict[str, object]:
    out = invoke(["key", "list", "--json"], env, password)
    assert out.code == 0, out.stderr
    listing: dict[str, object] = out.json()
    return listing


def new_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / f"new-{len(os.listdir(tmp_path))}"
    path.write_text(text + "\n")
    path.chmod(0o600)  # (else each use warns: keep it 0600)
    return str(path)


def test_list_shows_the_key_in_use(tmp_path: Path, env: dict[str, str]) -> None:
    out = invoke(["key", "list"], env, FIRST)
    assert out.code == 0, out.stderr
    (only,) = os.listdir(tmp_path / "repo" / "keys")
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "HOST", "USER"]
    assert lines[1].startswith(f"*  {only[:8]}  ") and lines[-1] == "1 key"
    listing = keys(env, FIRST)
    assert listing["in_use"] == only
    assert [(k["id"], k["in_use"]) for k in listing["keys"]] == [(only, True)]  # type: ignore[attr-defined]


def test_add_then_remove_one_key_the_other_still_opens(tmp_path: Path,
                                                       env: dict[str, str]) -> None:
    out = invoke(["key", "add", "--new-password-file", new_file(tmp_path, SPARE)], env, FIRST)
    assert out.code == 0, out.stderr
    assert out.stdout.startswith("added key ") and "2 keys now open" in out.stdout
    first = keys(env, FIRST)["in_use"]
    spare = keys(env, SPARE)["in_use"]
    assert isinstance(first, str) and isinstance(spare, str) and first != spare
    # the key in use is kept without --force; removed with another key's passphrase
    one_line_error(invoke(["key", "remove", first[:8]], env, FIRST), 2,
                   "is the one this passphrase opened", "--force")
    out = invoke(["key", "remove", first[:8], "--json"], env, SPARE)
    assert out.code == 0, out.stderr
    assert out.json() == {"repository": str(tmp_path / "repo"), "added": None,
                          "removed": first, "keys": 1}
    one_line_error(invoke(["snapshots"], env, FIRST), 12, "wrong passphrase")
    assert invoke(["snapshots"], env, SPARE).code == 0
    # the last key is never removed, even with --force
    one_line_error(invoke(["key", "remove", spare, "--force"], env, SPARE), 2,
                   "the repository's last one")
    one_line_error(invoke(["key", "remove", "ffff"], env, SPARE), 2, "no key 'ffff'",
                   "snapkit key list")


def test_a_key_is_named_by_at_least_4_hex_digits(tmp_path: Path, env: dict[str, str]) -> None:
    fast_spare(tmp_path)
    spare = keys(env, SPARE)["in_use"]
    assert isinstance(spare, str)
    for short in (spare[:1], spare[:3], "", "zzzzzz", f"{spare[:4]}-"):
        one_line_error(invoke(["key", "remove", short], env, FIRST), 2,
                       f"{short!r} is not a key id", "at least 4 hex digits", "snapkit key list")
    assert len(os.listdir(tmp_path / "repo" / "keys")) == 2
    out = invoke(["key", "remove", spare[:4].upper()], env, FIRST)
    assert out.code == 0, out.stderr
    assert os.listdir(tmp_path / "repo" / "keys") != [spare]


def fast_spare(tmp_path: Path, passphrase: str = SPARE) -> str:
    """A second key file, added in process with a fast key derivation; its id."""
    repo = Repository.open(tmp_path / "repo", lambda: FIRST.encode())
    assert isinstance(repo.cipher, Sealed)
    return store_keys.add_key(repo.backend, repo.cipher.key, passphrase.encode(),
                              KdfParams(MIN_SCRYPT_N, os.urandom(16)))


def test_a_new_passphrase_that_already_opens_a_key_is_refused(tmp_path: Path,
                                                              env: dict[str, str]) -> None:
    spare = fast_spare(tmp_path)
    first = keys(env, FIRST)["in_use"]
    assert isinstance(first, str)
    out = invoke(["key", "add", "--new-password-file", new_file(tmp_path, SPARE)], env, FIRST)
    one_line_error(out, 2, f"the new passphrase already opens key {spare[:8]}:",
                   "choose another passphrase")
    out = invoke(["key", "add", "--new-password-file", new_file(tmp_path, FIRST)], env, FIRST)
    one_line_error(out, 2, f"already opens key {first[:8]} (the one in use)")
    out = invoke(["key", "passwd", "--new-password-file", new_file(tmp_path, FIRST)], env, FIRST)
    one_line_error(out, 2, f"already opens key {first[:8]} (the one in use)")
    out = invoke(["key", "passwd", "--new-password-file", new_file(tmp_path, SPARE)], env, FIRST)
    one_line_error(out, 2, f"already opens key {spare[:8]}:")
    assert sorted(os.listdir(tmp_path / "repo" / "keys")) == sorted([first, spare])


def test_passwd_says_when_the_old_passphrase_still_opens_another_key(
        tmp_path: Path, env: dict[str, str]) -> None:
    (first,) = os.listdir(tmp_path / "repo" / "keys")
    twin = fast_spare(tmp_path, FIRST)  # a second key file for one passphrase (made earlier)
    in_use = keys(env, FIRST)["in_use"]  # (the first of the two in id order)
    twin = first if in_use == twin else twin  # the one passwd leaves
    out = invoke(["key", "passwd", "--new-password-file", new_file(tmp_path, "second one"),
                  "--json"], env, FIRST)
    assert out.code == 0, out.stderr
    change = out.json()
    assert change["old_passphrase_opens"] == twin and change["keys"] == 2
    assert invoke(["snapshots"], env, FIRST).code == 0  # true: it still opens
    out = invoke(["key", "list", "--json"], env, FIRST)
    assert out.json()["in_use"] == twin
    out = invoke(["key", "passwd", "--new-password-file", new_file(tmp_path, "third one")],
                 env, FIRST)
    assert out.code == 0, out.stderr
    assert out.stdout.strip().endswith("(the old passphrase no longer opens the repository)")
    one_line_error(invoke(["snapshots"], env, FIRST), 12, "wrong passphrase")


def test_key_times_are_shown_as_snapshots_shows_them(tmp_path: Path,
                                                     env: dict[str, str]) -> None:
    (only,) = os.listdir(tmp_path / "repo" / "keys")
    backend = Repository.open(tmp_path / "repo", lambda: FIRST.encode()).backend
    stored = store_keys.read_key(backend, only).created
    made = datetime.strptime(stored, "%Y-%m-%dT%H:%M:%S%z")
    listing = keys(env, FIRST)["keys"]
    assert isinstance(listing, list)
    (listed,) = listing
    assert listed["created_ns"] == int(made.timestamp()) * 10**9
    assert listed["created"] == made.astimezone().isoformat(timespec="seconds")
    assert datetime.fromisoformat(listed["created"]) == made
    out = invoke(["key", "list"], env, FIRST)
    shown = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(made.timestamp()))
    assert out.stdout.splitlines()[1].startswith(f"*  {only[:8]}  {shown}  "), out.stdout


def test_passwd_retires_the_old_passphrase(tmp_path: Path, env: dict[str, str]) -> None:
    repo = Repository.open(tmp_path / "repo", lambda: FIRST.encode())
    assert isinstance(repo.cipher, Sealed)  # (the spare added in process: a fast one)
    store_keys.add_key(repo.backend, repo.cipher.key, SPARE.encode(),
                       KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    out = invoke(["key", "passwd", "--new-password-file", new_file(tmp_path, "second")],
                 env, FIRST)
    assert out.code == 0, out.stderr
    assert out.stdout.startswith("changed the passphrase: key ")
    one_line_error(invoke(["snapshots"], env, FIRST), 12, "wrong passphrase")
    assert invoke(["snapshots"], env, "second").code == 0
    assert invoke(["snapshots"], env, SPARE).code == 0  # the other key is untouched
    assert len(keys(env, "second")["keys"]) == 2  # type: ignore[arg-type]


def test_a_new_passphrase_needs_a_file_or_a_terminal(tmp_path: Path,
                                                     env: dict[str, str]) -> None:
    for args in (["key", "add"], ["key", "passwd"]):
        one_line_error(invoke(args, env, FIRST), 12, "a new passphrase is needed",
                       "--new-password-file")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    one_line_error(invoke(["key", "add", "--new-password-file", str(empty)], env, FIRST), 2,
                   "empty passphrase")
    one_line_error(invoke(["key", "add", "--new-password-file", new_file(tmp_path, "x")],
                          env, "wrong"), 12, "wrong passphrase")
    assert len(os.listdir(tmp_path / "repo" / "keys")) == 1


@pytest.mark.skipif(os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1",
                    reason="needs a plain repository")
def test_key_on_a_plain_repository_says_it_is_not_encrypted(tmp_path: Path) -> None:
    Repository.init(tmp_path / "plain")
    env = {"HOME": str(tmp_path / "home"), "SNAPKIT_REPO": str(tmp_path / "plain")}
    for args in (["key", "list"], ["key", "remove", "abc"], ["key", "passwd"]):
        one_line_error(invoke(args, env), 2, "is not encrypted")
