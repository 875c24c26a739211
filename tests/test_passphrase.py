"""Where an encrypted repository's passphrase comes from (``snapkit.ops.passphrase``): the
password file, the password command, the variable, the prompt — in that order — and the one
clear error when none is given. The command is a real subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from snapkit.format.errors import UsageError
from snapkit.ops.passphrase import passphrase


def test_the_file_wins_then_the_command_then_the_variable(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_bytes(b"from file\n")
    cmd = f"{sys.executable} -c \"print('from command')\""
    env = {"SNAPKIT_PASSWORD_FILE": str(pw), "SNAPKIT_PASSWORD_COMMAND": cmd,
           "SNAPKIT_PASSWORD": "from variable"}
    assert passphrase(env) == b"from file"
    assert passphrase(env, password_file=str(pw)) == b"from file"
    del env["SNAPKIT_PASSWORD_FILE"]
    assert passphrase(env) == b"from command"
    del env["SNAPKIT_PASSWORD_COMMAND"]
    assert passphrase(env) == b"from variable"
    assert passphrase({}, prompt=lambda _q: "typed") == b"typed"


def test_only_one_trailing_newline_is_removed(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_bytes(b" spaces and newline \n\n")
    assert passphrase({}, password_file=str(pw)) == b" spaces and newline \n"
    pw.write_bytes(b"crlf\r\n")
    assert passphrase({}, password_file=str(pw)) == b"crlf"


def test_a_new_passphrase_is_asked_twice() -> None:
    answers = iter(["one", "one"])
    assert passphrase({}, prompt=lambda _q: next(answers), new=True) == b"one"
    answers = iter(["one", "two"])
    with pytest.raises(UsageError, match="do not match"):
        passphrase({}, prompt=lambda _q: next(answers), new=True)


@pytest.mark.parametrize(("env", "message"), [
    ({}, "no passphrase was given: set SNAPKIT_PASSWORD"),
    ({"SNAPKIT_PASSWORD": ""}, "empty passphrase from SNAPKIT_PASSWORD"),
    ({"SNAPKIT_PASSWORD_FILE": "/nonexistent/pw"}, "cannot read the password file"),
    ({"SNAPKIT_PASSWORD_COMMAND": "no-such-command-xyz"}, "command not found"),
    ({"SNAPKIT_PASSWORD_COMMAND": f"{sys.executable} -c 'print(\"secret\"); exit(3)'"},
     r"failed \(exit 3\)"),
    ({"SNAPKIT_PASSWORD_COMMAND": "'unclosed"}, "cannot be parsed"),
])
def test_one_clear_error_per_problem(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        passphrase(env)
    assert "secret" not in str(info.value)  # a failed command's output is never shown
