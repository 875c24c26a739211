"""Where the passphrase of an encrypted repository comes from — never the command line.

In order, the first that is set wins (as restic's ``--password-file`` /
``RESTIC_PASSWORD_COMMAND`` / ``RESTIC_PASSWORD``):

1. ``--password-file FILE``, else ``SNAPKIT_PASSWORD_FILE``: the file's content, one trailing
   newline removed;
2. ``SNAPKIT_PASSWORD_COMMAND``: a command (split like a shell, not run by one) whose standard
   output is the passphrase (a keychain, ``pass``, a secret manager), one trailing newline
   removed; it must exit 0 within :data:`COMMAND_TIMEOUT_S`;
3. ``SNAPKIT_PASSWORD``;
4. a prompt on the terminal (twice when a new passphrase is chosen), when there is one.

Anything else is a usage error naming the four ways. An empty passphrase is refused.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from snapkit.format.errors import UsageError

COMMAND_TIMEOUT_S = 60.0
HOW = ("set SNAPKIT_PASSWORD, SNAPKIT_PASSWORD_FILE (or --password-file) or "
       "SNAPKIT_PASSWORD_COMMAND, or run on a terminal to be asked")

#: Asks the user (``prompt(text) -> answer``); None when there is no terminal.
Prompt = Callable[[str], str]


def _strip_newline(text: bytes) -> bytes:
    if text.endswith(b"\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(b"\n") else text


def _from_command(command: str) -> bytes:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"SNAPKIT_PASSWORD_COMMAND cannot be parsed: {exc}") from exc
    if not argv:
        raise UsageError("SNAPKIT_PASSWORD_COMMAND is empty")
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise UsageError(f"SNAPKIT_PASSWORD_COMMAND: {argv[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise UsageError(f"SNAPKIT_PASSWORD_COMMAND did not finish within "
                         f"{COMMAND_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:  # its output may hold the secret: never shown
        raise UsageError(f"SNAPKIT_PASSWORD_COMMAND failed (exit {proc.returncode})")
    return _strip_newline(proc.stdout)


def given(env: Mapping[str, str]) -> bool:
    """Whether ``env`` names a passphrase source (a file, a command or the variable), so that
    :func:`passphrase` need not prompt."""
    return bool(env.get("SNAPKIT_PASSWORD_FILE") or env.get("SNAPKIT_PASSWORD_COMMAND")
                or "SNAPKIT_PASSWORD" in env)


def passphrase(env: Mapping[str, str], password_file: str | None = None,
               prompt: Prompt | None = None, new: bool = False) -> bytes:
    """The passphrase (bytes, UTF-8), from the first source that is set (module docstring).

    ``new``: it is being chosen (``init``, ``key add``, ``key passwd``): the prompt asks twice.
    """
    source = password_file or env.get("SNAPKIT_PASSWORD_FILE")
    if source:
        try:
            value = _strip_newline(Path(source).read_bytes())
        except OSError as exc:
            raise UsageError(f"cannot read the password file {source}: "
                             f"{exc.strerror or exc}") from exc
        where = f"the password file {source}"
    elif env.get("SNAPKIT_PASSWORD_COMMAND"):
        value = _from_command(env["SNAPKIT_PASSWORD_COMMAND"])
        where = "SNAPKIT_PASSWORD_COMMAND"
    elif "SNAPKIT_PASSWORD" in env:
        value = env["SNAPKIT_PASSWORD"].encode()
        where = "SNAPKIT_PASSWORD"
    elif prompt is not None:
        value = prompt("New passphrase" if new else "Passphrase").encode()
        if new and prompt("Repeat the passphrase").encode() != value:
            raise UsageError("the passphrases do not match")
        where = "the prompt"
    else:
        what = "encrypting needs a passphrase," if new else "this repository is encrypted"
        raise UsageError(f"{what} and no passphrase was given: {HOW}")
    if not value:
        raise UsageError(f"empty passphrase from {where}")
    return value
