"""A damaged key file (issue 15): ``check`` reads every key file's structure and scrypt
parameters and names a damaged one with the fix (exit 1, in ``--json`` too); unlocking, when
no key opens and a key file cannot be read, names that file (exit 1) instead of only "wrong
passphrase" (exit 12 stays for a wrong passphrase when every key file reads).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from helpers import CliResult, invoke_main, make_tree

from snapkit.format.crypto import MIN_SCRYPT_N, KdfParams
from snapkit.store.backend import LocalBackend
from snapkit.store.cipher import Sealed
from snapkit.store.keys import add_key
from snapkit.store.repository import Repository

FIRST = "first key passphrase"
SPARE = "spare key passphrase"


def invoke(args: Sequence[str], env: dict[str, str]) -> CliResult:
    return invoke_main(args, env, isolate=("SNAPKIT_PASSWORD_FILE", "SNAPKIT_PASSWORD"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
            "OPENCLAW_STATE_DIR": str(tmp_path / "no-openclaw"),
            "SNAPKIT_REPO": str(tmp_path / "repo")}


def two_keys(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """An encrypted repository with a snapshot and two key files; the spare's id."""
    repo = tmp_path / "repo"
    opened = Repository.init(repo, passphrase=FIRST.encode(),
                             kdf=KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    assert isinstance(opened.cipher, Sealed)
    spare = add_key(LocalBackend(repo), opened.cipher.key, SPARE.encode(),
                    KdfParams(MIN_SCRYPT_N, os.urandom(16)))
    src = make_tree(tmp_path / "src", {"a": b"a\n"})
    assert invoke(["snap", str(src)], {**env, "SNAPKIT_PASSWORD": FIRST}).code == 0
    return repo, spare


def edit_json(key: str, value: object) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        doc = json.loads(data)
        doc[key] = value
        return json.dumps(doc).encode()
    return edit


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "garbage appended": lambda data: data + b"garbage\n",
    "truncated": lambda data: data[:len(data) // 2],
    "scrypt n too small": edit_json("n", MIN_SCRYPT_N // 2),
    "scrypt n not a power of two": edit_json("n", MIN_SCRYPT_N + 1),
    "scrypt r out of range": edit_json("r", 1000),
    "salt too short": edit_json("salt", "AAAA"),
    "wrapped key cut": edit_json("data", "AAAAAAAA"),
    "unknown kdf": edit_json("kdf", "md5"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_check_names_a_damaged_key_file(tmp_path: Path, env: dict[str, str],
                                        damage: str) -> None:
    repo, spare = two_keys(tmp_path, env)
    path = repo / "keys" / spare
    path.write_bytes(DAMAGES[damage](path.read_bytes()))
    first = {**env, "SNAPKIT_PASSWORD": FIRST}
    out = invoke(["check"], first)
    assert out.code == 1, (out.stdout, out.stderr)
    line = next(ln for ln in out.stdout.splitlines() if f"key file {spare}" in ln)
    assert "is damaged" in line and f"`snapkit key remove {spare}`" in line, line
    assert "`snapkit key add`" in line and "restore the file from a copy" in line, line
    out = invoke(["check", "--json"], first)
    assert out.code == 1
    report = out.json()
    assert report["ok"] is False and report["damage"]["key_files_damaged"] == [spare]
    assert any(f"key file {spare}" in e for e in report["errors"])
    # the spare's own passphrase: the damaged file is named (exit 1), not "wrong passphrase"
    out = invoke(["snapshots"], {**env, "SNAPKIT_PASSWORD": SPARE})
    assert out.code == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"key file {spare} of" in lines[0], lines
    assert "is damaged" in lines[0] and "restore the damaged file" in lines[0], lines
    if damage != "garbage appended":
        return
    # the fix the check names: a new passphrase, then the damaged key removed
    pw = tmp_path / "new-pw"
    pw.write_text("a brand new passphrase\n")
    pw.chmod(0o600)
    out = invoke(["key", "add", "--new-password-file", str(pw)], first)
    assert out.code == 0, out.stderr
    out = invoke(["key", "remove", spare], first)
    assert out.code == 0, out.stderr
    assert invoke(["check"], first).code == 0
    assert invoke(["snapshots"], {**env, "SNAPKIT_PASSWORD": "a brand new passphrase"}
                  ).code == 0


def test_a_wrong_passphrase_with_every_key_file_sound_is_still_exit_12(
        tmp_path: Path, env: dict[str, str]) -> None:
    two_keys(tmp_path, env)
    out = invoke(["snapshots"], {**env, "SNAPKIT_PASSWORD": "not one of them"})
    assert out.code == 12 and "wrong passphrase" in out.stderr, out.stderr
    out = invoke(["check", "--json"], {**env, "SNAPKIT_PASSWORD": FIRST})
    assert out.code == 0 and out.json()["damage"]["key_files_damaged"] == []
