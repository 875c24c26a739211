"""The passphrase through the CLI, as a new user meets it (issue 15's trial): ``init`` with no
passphrase is exit 12 as documented; a passphrase given to an ``init`` that makes a plain
repository is said to be unused; a password command that cannot run is exit 2 naming
SNAPKIT_PASSWORD_COMMAND; a wrong passphrase's line names where it came from; passphrases are
compared in Unicode NFC, and a key file made from other bytes still opens."""

from __future__ import annotations

import json
import os
import secrets
import unicodedata
from pathlib import Path

import pytest
from helpers import invoke_own_passphrase as invoke
from helpers import one_line_error, plain_only

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams, wrap
from snapkit.store.cipher import Sealed
from snapkit.store.repository import Repository

PASSWORD = "correct horse battery staple"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "XDG_DATA_HOME": str(tmp_path / "data"), "SNAPKIT_REPO": str(tmp_path / "repo")}


def fast(path: Path, passphrase: bytes = PASSWORD.encode()) -> Repository:
    """An encrypted repository whose key file unlocks in milliseconds."""
    return Repository.init(path, passphrase=passphrase, kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))


def test_init_without_a_passphrase_is_exit_12(tmp_path: Path, env: dict[str, str]) -> None:
    out = invoke(["init", "--encryption", "repokey"], env)
    one_line_error(out, 12, "encrypting needs a passphrase and none was given: set",
                   "SNAPKIT_PASSWORD_FILE")
    assert not (tmp_path / "repo").exists()
    out = invoke(["init", "--encryption", "repokey"], {**env, "SNAPKIT_PASSWORD": ""})
    one_line_error(out, 2, "empty passphrase from SNAPKIT_PASSWORD: set it to the passphrase")


@plain_only
def test_a_passphrase_given_to_a_plain_init_is_said_unused(tmp_path: Path,
                                                           env: dict[str, str]) -> None:
    note = ("snapkit: note: a passphrase was given, but a repository here is not encrypted by "
            "default: `--encryption repokey` encrypts it\n")
    home = Path(env["HOME"])  # (plain by default: inside the home, on its filesystem)
    home.mkdir()
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    pw.chmod(0o600)
    for i, given in enumerate(({"SNAPKIT_PASSWORD": PASSWORD},
                               {"SNAPKIT_PASSWORD_FILE": str(pw)},
                               {"SNAPKIT_PASSWORD_COMMAND": f"cat {pw}"})):
        out = invoke(["init", "--repo", str(home / f"r{i}")], {**env, **given})
        assert out.code == 0 and "(not encrypted)" in out.stdout, out.stderr
        assert out.stderr == note
    out = invoke(["init", "--repo", str(home / "r3"), "--password-file", str(pw)], env)
    assert out.stderr == note
    out = invoke(["init", "--repo", str(home / "r4"), "--encryption", "none"],
                 {**env, "SNAPKIT_PASSWORD": PASSWORD})
    assert out.code == 0 and out.stderr == ""  # chosen: no note
    out = invoke(["init", "--repo", str(home / "r5")], env)
    assert out.code == 0 and out.stderr == ""  # no passphrase: no note


def test_a_password_command_that_cannot_run_is_exit_2(tmp_path: Path,
                                                      env: dict[str, str]) -> None:
    fast(tmp_path / "repo")
    script = tmp_path / "getpw"
    script.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
    script.chmod(0o644)
    out = invoke(["snapshots"], {**env, "SNAPKIT_PASSWORD_COMMAND": str(script)})
    one_line_error(out, 2, f"SNAPKIT_PASSWORD_COMMAND: cannot run {script}: Permission denied")
    out = invoke(["snapshots"], {**env, "SNAPKIT_PASSWORD_COMMAND": "cat ~/pw"})
    one_line_error(out, 2, "SNAPKIT_PASSWORD_COMMAND failed (exit 1): cat: ",
                   "No such file or directory", "not by a shell")
    script.chmod(0o755)
    assert invoke(["snapshots"], {**env, "SNAPKIT_PASSWORD_COMMAND": str(script)}).code == 0


NFC = unicodedata.normalize("NFC", "crème brûlée à la passphrase")
NFD = unicodedata.normalize("NFD", NFC)


def in_use(env: dict[str, str], password: str) -> object:
    out = invoke(["key", "list", "--json"], {**env, "SNAPKIT_PASSWORD": password})
    assert out.code == 0, out.stderr
    return out.json()["in_use"]


def test_passphrases_are_compared_in_nfc(tmp_path: Path, env: dict[str, str]) -> None:
    assert NFC != NFD
    repo = fast(tmp_path / "repo", NFD.encode())  # typed decomposed: stored as NFC
    assert isinstance(repo.cipher, Sealed)
    (first,) = os.listdir(tmp_path / "repo" / "keys")
    assert in_use(env, NFC) == first and in_use(env, NFD) == first
    # a key file made before the normalisation, from the decomposed bytes: still opens
    old = secrets.token_hex(16)
    made = wrap(repo.cipher.key, ("old " + NFD).encode(), KdfParams(MIN_SCRYPT_N, os.urandom(16)),
                created="2026-01-01T00:00:00+0000", host="h", user="u")
    repo.backend.save("keys", old, made.to_json())
    assert in_use(env, "old " + NFD) == old
    # a new passphrase typed decomposed is refused when its NFC form opens a key already
    pw = tmp_path / "new"
    pw.write_text(NFD + "\n")
    pw.chmod(0o600)
    out = invoke(["key", "add", "--new-password-file", str(pw)], {**env, "SNAPKIT_PASSWORD": NFC})
    one_line_error(out, 2, f"the new passphrase already opens key {first[:8]} (the one in use)")


def test_a_wrong_passphrase_names_its_source(tmp_path: Path, env: dict[str, str]) -> None:
    fast(tmp_path / "repo")
    pw = tmp_path / "pw"
    pw.write_text("not it\n")
    pw.chmod(0o600)
    where = f"wrong passphrase for {tmp_path / 'repo'}: the passphrase"
    cases = [({"SNAPKIT_PASSWORD_COMMAND": "echo not it"}, "from SNAPKIT_PASSWORD_COMMAND opens "
              "none of its 1 key file; check what it prints, or give another key's passphrase"),
             ({"SNAPKIT_PASSWORD_FILE": str(pw)}, f"from the password file {pw} opens none of "
              f"its 1 key file; check the password file {pw}"),
             ({"SNAPKIT_PASSWORD": "not it"}, "from SNAPKIT_PASSWORD opens none of its 1 key "
              "file; check SNAPKIT_PASSWORD")]
    for given, says in cases:
        for args in (["snapshots"], ["key", "list"], ["check"]):
            line = one_line_error(invoke(args, {**env, **given}), 12, f"{where} {says}")
            assert "not it" not in line
    one_line_error(invoke(["snapshots", "--password-file", str(pw)], env), 12,
                   f"{where} from the password file {pw} opens none")


def test_the_password_file_warning_is_json_under_json(tmp_path: Path,
                                                     env: dict[str, str]) -> None:
    """A password file other users can read is warned about: one JSON event under --json,
    like every warning there (the trial saw plain text in a JSON stream)."""
    fast(tmp_path / "repo")
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o644)
    out = invoke(["snapshots", "--json", "--password-file", str(pw)], env)
    assert out.code == 0, out.stderr
    (line,) = out.stderr.splitlines()
    event = json.loads(line)
    assert event["event"] == "warning" and "is open to other users" in event["message"]
    out = invoke(["snapshots", "--password-file", str(pw)], env)  # and text without it
    assert out.stderr.startswith("snapkit: warning: the password file ")
