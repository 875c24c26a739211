"""The passphrase through the CLI, as a new user meets it (issue 15's trial): ``init`` with no
passphrase is exit 12 as documented; a passphrase given to an ``init`` that makes a plain
repository is said to be unused; a password command that cannot run is exit 2 naming
SNAPKIT_PASSWORD_COMMAND."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import CliResult, invoke_main, plain_only

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.store.repository import Repository

PASSWORD = "correct horse battery staple"


def invoke(args: Sequence[str], env: dict[str, str]) -> CliResult:
    """The CLI without the encrypted test mode's passphrase: each test gives its own."""
    return invoke_main(args, env, isolate=("SNAPKIT_PASSWORD_FILE", "SNAPKIT_PASSWORD"))


def one_line_error(out: CliResult, code: int, *needles: str) -> str:
    assert out.code == code, (out.code, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapkit: error: "), out.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


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
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    pw.chmod(0o600)
    for i, given in enumerate(({"SNAPKIT_PASSWORD": PASSWORD},
                               {"SNAPKIT_PASSWORD_FILE": str(pw)},
                               {"SNAPKIT_PASSWORD_COMMAND": f"cat {pw}"})):
        out = invoke(["init", "--repo", str(tmp_path / f"r{i}")], {**env, **given})
        assert out.code == 0 and "(not encrypted)" in out.stdout, out.stderr
        assert out.stderr == note
    out = invoke(["init", "--repo", str(tmp_path / "r3"), "--password-file", str(pw)], env)
    assert out.stderr == note
    out = invoke(["init", "--repo", str(tmp_path / "r4"), "--encryption", "none"],
                 {**env, "SNAPKIT_PASSWORD": PASSWORD})
    assert out.code == 0 and out.stderr == ""  # chosen: no note
    out = invoke(["init", "--repo", str(tmp_path / "r5")], env)
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
