"""Where an encrypted repository's passphrase comes from (``snapkit.ops.passphrase``): the
password file, the password command, the variable, the prompt — in that order — and the one
clear error when none is given (exit 12) or a source gives nothing (exit 2, naming the fix);
a failing command's reason; the warnings on a short new passphrase and an open password file;
a wrong passphrase's line naming its source. The command is a real subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from snapkit.format.errors import PassphraseNeeded, UsageError
from snapkit.ops.passphrase import SHORT, opens_none, passphrase, source


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


def test_none_given_is_exit_12_as_a_wrong_one() -> None:
    for new in (False, True):
        with pytest.raises(PassphraseNeeded, match=r"(no passphrase|none) was given: set") as e:
            passphrase({}, new=new)
        assert e.value.exit_code == 12


def test_an_empty_passphrase_names_its_source_and_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "pw"
    empty.write_bytes(b"\n")
    empty.chmod(0o600)
    cases = [({"SNAPKIT_PASSWORD": ""}, "SNAPKIT_PASSWORD: set it to the passphrase, or unset"),
             ({"SNAPKIT_PASSWORD_FILE": str(empty)},
              f"the password file {empty}: write the passphrase into it"),
             ({"SNAPKIT_PASSWORD_COMMAND": "true"},
              "SNAPKIT_PASSWORD_COMMAND: the command must print the passphrase")]
    for env, fix in cases:
        with pytest.raises(UsageError) as info:
            passphrase(env)
        assert info.value.exit_code == 2
        assert info.value.message.startswith(f"empty passphrase from {fix}"), info.value.message
    with pytest.raises(UsageError, match="empty passphrase from the prompt: type the passphrase"):
        passphrase({}, prompt=lambda _q: "", new=True)


def test_a_failing_command_says_why_and_that_no_shell_runs_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pw").write_text("secret\n")
    with pytest.raises(UsageError) as info:
        passphrase({"SNAPKIT_PASSWORD_COMMAND": "cat ~/pw"})
    line = info.value.message
    assert line.startswith("SNAPKIT_PASSWORD_COMMAND failed (exit 1): cat: ")
    assert "No such file or directory" in line and "not by a shell" in line
    assert "~ and $VAR are not expanded" in line and "\n" not in line
    with pytest.raises(UsageError) as info:  # a command without ~ or $: no such note
        passphrase({"SNAPKIT_PASSWORD_COMMAND": f"cat {tmp_path / 'nope'}"})
    assert "No such file" in info.value.message and "shell" not in info.value.message


def test_a_command_that_cannot_run_is_a_usage_error_naming_the_variable(tmp_path: Path) -> None:
    script = tmp_path / "getpw"
    script.write_text("#!/bin/sh\necho secret\n")
    script.chmod(0o644)  # not executable
    with pytest.raises(UsageError) as info:
        passphrase({"SNAPKIT_PASSWORD_COMMAND": str(script)})
    assert info.value.exit_code == 2
    assert info.value.message.startswith(f"SNAPKIT_PASSWORD_COMMAND: cannot run {script}: "
                                         "Permission denied")
    with pytest.raises(UsageError, match=r"cannot run .*: (Is a directory|Permission denied)"):
        passphrase({"SNAPKIT_PASSWORD_COMMAND": str(tmp_path)})


def test_a_short_new_passphrase_and_an_open_password_file_are_warned_about(
        tmp_path: Path) -> None:
    warned: list[str] = []
    pw = tmp_path / "pw"
    pw.write_text("short\n")
    pw.chmod(0o600)
    assert passphrase({}, str(pw), warn=warned.append) == b"short"
    assert warned == []  # not new: only the opening
    assert passphrase({}, str(pw), new=True, warn=warned.append) == b"short"
    assert len(warned) == 1 and "the new passphrase is short (5 characters)" in warned[0]
    assert f"{SHORT} or more" in warned[0]
    warned.clear()
    pw.write_text("long enough, this one\n")
    pw.chmod(0o644)
    assert passphrase({}, str(pw), new=True, warn=warned.append) == b"long enough, this one"
    assert warned == [f"the password file {pw} is open to other users (mode 0644): keep it "
                      f"0600 (chmod 600 {pw})"]
    warned.clear()
    pw.chmod(0o600)
    passphrase({"SNAPKIT_PASSWORD_FILE": str(pw)}, warn=warned.append)
    assert warned == []
    passphrase({}, prompt=lambda _q: "naïve ok", new=True, warn=warned.append)
    assert warned == []  # 8 characters (not bytes)


def test_a_wrong_passphrase_names_where_it_came_from(tmp_path: Path) -> None:
    cases = [({"SNAPKIT_PASSWORD_COMMAND": "pass show x", "SNAPKIT_PASSWORD": "v"},
              "the passphrase from SNAPKIT_PASSWORD_COMMAND opens none of its 2 key files; "
              "check what it prints"),
             ({"SNAPKIT_PASSWORD_FILE": "/p/pw"},
              "the passphrase from the password file /p/pw opens none of its 2 key files; "
              "check the password file /p/pw"),
             ({"SNAPKIT_PASSWORD": "v"}, "the passphrase from SNAPKIT_PASSWORD opens none of "
                                         "its 2 key files; check SNAPKIT_PASSWORD"),
             ({}, "the passphrase typed opens none of its 2 key files; type it again")]
    for env, says in cases:
        line = opens_none("/r", 2, source(env))
        assert line.startswith(f"wrong passphrase for /r: {says}"), line
    assert "its 1 key file;" in opens_none("/r", 1, None)


@pytest.mark.parametrize(("env", "message"), [
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
