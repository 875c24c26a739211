"""Where the passphrase of an encrypted repository comes from — never the command line.

In order, the first that is set wins (as restic's ``--password-file`` /
``RESTIC_PASSWORD_COMMAND`` / ``RESTIC_PASSWORD``):

1. ``--password-file FILE``, else ``SNAPKIT_PASSWORD_FILE``: the file's content, one trailing
   newline removed (a warning when other users may read it: keep it 0600);
2. ``SNAPKIT_PASSWORD_COMMAND``: a command (split like a shell, not run by one: ``~`` and
   ``$VAR`` stay as written) whose standard output is the passphrase (a keychain, ``pass``, a
   secret manager), one trailing newline removed; it must exit 0 within
   :data:`COMMAND_TIMEOUT_S` (else its last line on stderr is shown, never its output);
3. ``SNAPKIT_PASSWORD``;
4. a prompt on the terminal (twice when a new passphrase is chosen), when there is one.

None of them is PassphraseNeeded (exit 12, as a wrong one: the fix is to give the right one);
one that is set but gives nothing (an empty passphrase, a file that cannot be read, a command
that fails) is a usage error (exit 2) naming it and the fix. A new passphrase shorter than
:data:`SHORT` characters is taken with a warning. A passphrase that opens no key file is named
by its source (:func:`name_the_source`).
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import NoReturn

from snapkit.format.errors import PassphraseNeeded, UsageError, WrongPassphrase

COMMAND_TIMEOUT_S = 60.0
HOW = ("set SNAPKIT_PASSWORD, SNAPKIT_PASSWORD_FILE (or --password-file) or "
       "SNAPKIT_PASSWORD_COMMAND, or run on a terminal to be asked")
#: A new passphrase shorter than this (in characters) is taken with a warning.
SHORT = 8

#: Asks the user (``prompt(text) -> answer``); None when there is no terminal.
Prompt = Callable[[str], str]
#: Shows a one-line warning.
Warn = Callable[[str], None]


#: Warnings as JSON events (``{"event": "warning", "message": ...}``), as the CLI's are under
#: ``--json`` (it sets this).
JSON_WARNINGS = {"on": False}


def warn_on_stderr(message: str) -> None:
    if JSON_WARNINGS["on"]:
        import json

        print(json.dumps({"event": "warning", "message": message}), file=sys.stderr, flush=True)
    else:
        print(f"snapkit: warning: {message}", file=sys.stderr, flush=True)


def _strip_newline(text: bytes) -> bytes:
    if text.endswith(b"\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(b"\n") else text


def _not_a_shell(command: str) -> str:
    """What to say of a command holding ``~`` or ``$`` (a shell would have expanded them)."""
    if "~" not in command and "$" not in command:
        return ""
    return ("; it is run directly, not by a shell (~ and $VAR are not expanded): write the "
            "full path, or run it with sh -c '...'")


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    return f": {lines[-1][:200]}" if lines else ""


def _from_command(command: str) -> bytes:
    name = "SNAPKIT_PASSWORD_COMMAND"
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"{name} cannot be parsed: {exc}") from exc
    if not argv:
        raise UsageError(f"{name} is empty: set it to a command that prints the passphrase")
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise UsageError(f"{name}: {argv[0]}: command not found{_not_a_shell(command)}") from exc
    except subprocess.TimeoutExpired as exc:
        raise UsageError(f"{name} did not finish within {COMMAND_TIMEOUT_S:.0f} s") from exc
    except OSError as exc:  # not executable, a directory, ...
        raise UsageError(f"{name}: cannot run {argv[0]}: {exc.strerror or exc} (it must be an "
                         f"executable program){_not_a_shell(command)}") from exc
    if proc.returncode != 0:  # its output may hold the secret: never shown; its stderr is
        raise UsageError(f"{name} failed (exit {proc.returncode}){_last_line(proc.stderr)}"
                         f"{_not_a_shell(command)}; it must print the passphrase and exit 0: "
                         "run it yourself to see what fails")
    return _strip_newline(proc.stdout)


def _from_file(path: str, warn: Warn) -> bytes:
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            value = _strip_newline(f.read())
    except OSError as exc:
        raise UsageError(f"cannot read the password file {path}: "
                         f"{exc.strerror or exc}") from exc
    if stat.S_ISREG(mode) and mode & 0o077:
        warn(f"the password file {path} is open to other users (mode "
             f"{stat.S_IMODE(mode):04o}): keep it 0600 (chmod 600 {shlex.quote(path)})")
    return value


def given(env: Mapping[str, str]) -> bool:
    """Whether ``env`` names a passphrase source (a file, a command or the variable), so that
    :func:`passphrase` need not prompt."""
    return source(env) is not None


def source(env: Mapping[str, str], password_file: str | None = None) -> str | None:
    """The source :func:`passphrase` takes the passphrase from, as a message names it
    (``the password file F``, ``SNAPKIT_PASSWORD_COMMAND``, ``SNAPKIT_PASSWORD``); None: none
    is set (the prompt)."""
    path = password_file or env.get("SNAPKIT_PASSWORD_FILE")
    if path:
        return f"the password file {path}"
    if env.get("SNAPKIT_PASSWORD_COMMAND"):
        return "SNAPKIT_PASSWORD_COMMAND"
    return "SNAPKIT_PASSWORD" if "SNAPKIT_PASSWORD" in env else None


#: How to fix an empty passphrase, by its source.
_EMPTY_FIX = {"SNAPKIT_PASSWORD_COMMAND": "the command must print the passphrase on its "
                                          "standard output",
              "SNAPKIT_PASSWORD": "set it to the passphrase, or unset it to use another source",
              "the prompt": "type the passphrase (an empty one is never accepted)"}


def passphrase(env: Mapping[str, str], password_file: str | None = None,
               prompt: Prompt | None = None, new: bool = False,
               warn: Warn = warn_on_stderr) -> bytes:
    """The passphrase (bytes, UTF-8), from the first source that is set (module docstring).

    ``new``: it is being chosen (``init``, ``key add``, ``key passwd``): the prompt asks
    twice, and a short one is warned about.
    """
    where = source(env, password_file)
    if where is not None and where.startswith("the password file "):
        value = _from_file(password_file or env["SNAPKIT_PASSWORD_FILE"], warn)
    elif where == "SNAPKIT_PASSWORD_COMMAND":
        value = _from_command(env["SNAPKIT_PASSWORD_COMMAND"])
    elif where == "SNAPKIT_PASSWORD":
        value = env["SNAPKIT_PASSWORD"].encode()
    elif prompt is not None:
        value = prompt("New passphrase" if new else "Passphrase").encode()
        if new and value and prompt("Repeat the passphrase").encode() != value:
            raise UsageError("the passphrases do not match: type the same one twice")
        where = "the prompt"
    else:
        what = ("encrypting needs a passphrase and none was given" if new else
                "this repository is encrypted and no passphrase was given")
        raise PassphraseNeeded(f"{what}: {HOW}")
    if not value:
        fix = _EMPTY_FIX.get(where, "write the passphrase into it")
        raise UsageError(f"empty passphrase from {where}: {fix}")
    if new and len(value.decode(errors="replace")) < SHORT:
        warn(f"the new passphrase is short ({len(value.decode(errors='replace'))} characters): "
             f"whoever copies the repository can try guesses offline; {SHORT} or more (a few "
             "words) is advised")
    return value


def opens_none(where: str, key_files: int, what: str | None) -> str:
    """The line for a passphrase from ``what`` (:func:`source`; None: the prompt) that opens
    none of the ``key_files`` key files of the repository at ``where``."""
    files = f"{key_files} key file{'' if key_files == 1 else 's'}"
    if what is None:
        return (f"wrong passphrase for {where}: the passphrase typed opens none of its {files}; "
                "type it again, or another key's passphrase")
    check = "what it prints" if what == "SNAPKIT_PASSWORD_COMMAND" else what
    return (f"wrong passphrase for {where}: the passphrase from {what} opens none of its "
            f"{files}; check {check}, or give another key's passphrase")




def name_the_source(exc: WrongPassphrase, env: Mapping[str, str]) -> NoReturn:
    """Raise ``exc``, raised when a repository was opened with a passphrase from ``env`` or
    the prompt; when that passphrase opens no key file, as a line naming where it came from
    (:func:`opens_none`)."""
    from snapkit.store.keys import NoKeyOpens

    if not isinstance(exc, NoKeyOpens):
        raise exc
    raise WrongPassphrase(opens_none(exc.where, exc.key_files, source(env))) from exc
