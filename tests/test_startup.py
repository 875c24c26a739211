"""Start-up imports only what a command uses (issue 14): ``snapkit --help`` loads click and a
handful of snapkit modules, ``snapkit snapshots`` what listing needs, and an unchanged ``snap``
none of the other commands' modules. Each is read from ``python -X importtime`` in a subprocess.
The commands are registered lazily (``snapkit.cli.main.COMMANDS``); the one-line help that
``snapkit --help`` lists from that table must equal each command's own. How long start-up takes
is measured by ``benchmarks/bench_startup.py``, never here.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import click
import pytest
from helpers import cli_env, cli_runner, invoke_main, make_tree

from snapkit.cli import main as cli_main

#: Heavy third-party packages a start-up that does not need them must not import.
HEAVY = frozenset({"psutil", "zstandard", "msgpack", "xxhash", "boto3", "botocore", "isal",
                   "cryptography"})

#: What reading the repository's format needs (and, encrypted, its cipher: the test-wide
#: encrypted mode, tests/encrypted_mode.py; a plain repository never imports cryptography).
FORMAT = frozenset({"msgpack", "xxhash", "zstandard"}
                   | ({"cryptography"} if os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1"
                      else set()))

#: Modules a plain repository's commands do without: the host name comes from ``os.uname``
#: (snapkit.format.host), shutil (with bz2 and lzma) only on a full disk, the crypto module
#: and hashlib's OpenSSL only with a key (encrypted mode).
LIGHT_SPARED = frozenset({"socket", "shutil"} | (
    set() if os.environ.get("SNAPKIT_TEST_ENCRYPTED") == "1"
    else {"hashlib", "_hashlib", "hmac", "snapkit.format.crypto"}))

#: Every snapkit module ``snapkit --help`` may import (no click: snapkit.cli.entry prints the
#: page of snapkit.cli.help_page).
HELP_MODULES = frozenset({"snapkit", "snapkit.__main__", "snapkit.cli", "snapkit.cli.entry",
                          "snapkit.cli.help_page"})

#: The modules of the other commands (restore, export, browse, import, prune, check, repair,
#: diff, forget): neither listing snapshots nor an unchanged snapshot needs them.
OTHER_COMMANDS = (
    "snapkit.read.restore", "snapkit.read.restore_writer", "snapkit.read.export",
    "snapkit.read.tar_sink", "snapkit.read.archive_verify", "snapkit.read.browse",
    "snapkit.read.diff", "snapkit.read.openclaw_archive", "snapkit.maintain.importer",
    "snapkit.maintain.prune", "snapkit.maintain.prune_scan", "snapkit.maintain.check",
    "snapkit.maintain.check_packs", "snapkit.maintain.check_report",
    "snapkit.maintain.repair_config", "snapkit.maintain.repair_index",
    "snapkit.maintain.repair_packs", "snapkit.maintain.repair_snapshots",
    "snapkit.ops.restore", "snapkit.ops.export", "snapkit.ops.browse", "snapkit.ops.diff",
    "snapkit.ops.import_archive", "snapkit.ops.prune", "snapkit.ops.check",
    "snapkit.ops.repair", "snapkit.ops.forget",
)

_LINE = re.compile(r"import time:\s+\d+ \|\s+\d+ \| (\s*)(\S+)$")


def imported(args: Sequence[str], env: dict[str, str]) -> set[str]:
    """The modules ``python -X importtime -m snapkit ARGS`` imports (the command must pass)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "snapkit", *args],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {m.group(2) for m in map(_LINE.match, proc.stderr.splitlines()) if m}
    assert "snapkit.cli.entry" in names, proc.stderr[-2000:]  # the output is what we parse
    return names


def snapkit_modules(names: set[str]) -> set[str]:
    return {n for n in names if n == "snapkit" or n.startswith("snapkit.")}


def heavy(names: set[str]) -> set[str]:
    """The heavy packages among ``names`` (by top-level package)."""
    return {n.split(".")[0] for n in names} & HEAVY


def cli_modules(names: set[str], *allowed: str) -> set[str]:
    """The ``snapkit.cli`` modules imported besides the group's and ``allowed``."""
    own = {"snapkit.cli", "snapkit.cli.entry", "snapkit.cli.main", "snapkit.cli.common",
           "snapkit.cli.help_page", "snapkit.cli.progress_line"}  # (common's progress line)
    return {n for n in names if n.startswith("snapkit.cli.")} - own - {
        f"snapkit.cli.{a}" for a in allowed}


@pytest.mark.parametrize("args", [["--help"], ["-h"], []], ids=["--help", "-h", "bare"])
def test_help_imports_neither_click_nor_more_than_the_page(tmp_path: Path,
                                                             args: list[str]) -> None:
    names = imported(args, cli_env(tmp_path))
    assert snapkit_modules(names) <= HELP_MODULES
    assert "click" not in names and heavy(names) == set()


@pytest.mark.parametrize("columns", [20, 50, 60, 80, 99, 100, 101, 120, 200])
def test_the_click_free_help_page_is_clicks_at_every_width(
    tmp_path: Path, columns: int
) -> None:
    """What ``snapkit --help`` prints without click is what click prints for the group (in
    a real process, as a user runs it: $COLUMNS sets the width, as for click)."""
    env = {**cli_env(tmp_path), "COLUMNS": str(columns)}
    fast = subprocess.run([sys.executable, "-m", "snapkit", "--help"], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", str(columns))
        ctx = cli_main.cli.make_context("snapkit", ["--help"], resilient_parsing=True)
        assert fast.stdout == cli_main.cli.get_help(ctx) + "\n"
    bare = subprocess.run([sys.executable, "-m", "snapkit"], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert bare.stdout == fast.stdout and bare.stderr == ""
    # Anything else is click's: an option after --help, a command's own help.
    assert "Usage: snapkit snap" in subprocess.run(
        [sys.executable, "-m", "snapkit", "snap", "--help"], env=env, capture_output=True,
        text=True, timeout=60, check=True).stdout


def test_a_commands_own_help_loads_that_command_only(tmp_path: Path) -> None:
    names = imported(["snapshots", "--help"], cli_env(tmp_path))
    assert cli_modules(names, "snapshots_cmd") == set()
    assert heavy(names) <= FORMAT  # the format it lists


def test_snapshots_imports_only_what_listing_needs(tmp_path: Path) -> None:
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert invoke_main(["init", "-q"], env).code == 0
    names = imported(["snapshots"], env)
    assert cli_modules(names, "snapshots_cmd", "snapshots_view") == set()
    assert heavy(names) <= FORMAT  # no psutil, no boto3
    assert {n for n in names if n.startswith(("snapkit.capture", "snapkit.read"))} == set()
    assert names.isdisjoint(OTHER_COMMANDS)
    assert not names & LIGHT_SPARED


def test_an_unchanged_snap_imports_no_other_commands_modules(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"a\n", "d/b.json": b"{}\n"})
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    assert invoke_main(["snap", str(src), "-q"], env).code == 0
    names = imported(["snap", str(src), "-q"], env)
    assert cli_modules(names, "snap_cmd", "snap_view") == set()
    assert names.isdisjoint(OTHER_COMMANDS)
    # Nor the dry run's report, nor the S3 backend for a local repository, nor (no OpenClaw
    # source) the gateway's lifecycle and psutil.
    assert {n for n in names if n.startswith(("snapkit.store.s3", "snapkit.capture.dryrun"))} \
        == set()
    assert heavy(names) <= FORMAT
    assert not any(n.startswith("snapkit.capture.service") for n in names)
    assert not names & LIGHT_SPARED


def test_an_openclaw_snap_of_a_plain_json_config_does_not_import_json5(tmp_path: Path) -> None:
    # OpenClaw writes openclaw.json as plain JSON: the slow JSON5 parser is for hand-edited ones.
    state = tmp_path / ".openclaw"  # HOME is tmp_path (helpers.cli_env)
    state.mkdir(parents=True)
    (state / "openclaw.json").write_text('{"agents": {"defaults": {"workspace": "~/ws"}}}\n')
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "AGENTS.md").write_text("# agents\n")
    env = cli_env(tmp_path, SNAPKIT_REPO=str(tmp_path / "repo"))
    args = ["snap", "-q", "--service-policy", "never"]
    assert invoke_main(args, env).code == 0
    names = imported(args, env)
    assert "snapkit.select.openclaw_config" in names  # the config was read
    assert "json5" not in names
    (state / "openclaw.json").write_text("{agents: {defaults: {workspace: '~/ws'}}}  // JSON5\n")
    assert "json5" in imported(args, env)


# --------------------------------------------------------------------------- the lazy table


def _commands() -> dict[str, click.Command]:
    """Every command of the table, loaded."""
    loaded = {}
    for name, (target, _) in cli_main.COMMANDS.items():
        module, attr = target.split(":")
        loaded[name] = getattr(importlib.import_module(f"snapkit.cli.{module}"), attr)
    return loaded


@pytest.mark.parametrize("name", sorted(cli_main.COMMANDS))
def test_the_tables_short_help_is_the_commands_own(name: str) -> None:
    command = _commands()[name]
    assert command.name == name
    assert cli_main.COMMANDS[name][1] == command.get_short_help_str(limit=1_000)


def test_every_command_module_is_in_the_table() -> None:
    """A command added to a ``*_cmd`` module without a row in the table would be unreachable."""
    loaded = _commands()
    subcommands = {id(sub) for c in loaded.values() if isinstance(c, click.Group)
                   for sub in c.commands.values()}
    cli_dir = Path(cli_main.__file__).parent
    for path in sorted(cli_dir.glob("*_cmd.py")):
        module = importlib.import_module(f"snapkit.cli.{path.stem}")
        for value in vars(module).values():
            if isinstance(value, click.Command) and id(value) not in subcommands:
                assert value in loaded.values(), f"{path.name}: {value.name} not in COMMANDS"


def _help(group: click.Group) -> str:
    result = cli_runner().invoke(group, ["--help"], prog_name="snapkit", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_lists_the_commands_as_click_would_with_all_loaded() -> None:
    """``snapkit --help`` from the table equals the help of a plain group holding every
    command, and a group with some commands loaded lists them the same way."""
    cli = cli_main.cli

    def group(cls: type[click.Group]) -> click.Group:
        return cls(name="snapkit", callback=cli.callback, params=cli.params, help=cli.help,
                   context_settings=cli.context_settings)

    eager = group(click.Group)
    for name, command in _commands().items():
        eager.add_command(command, name)
    lazy = group(cli_main._Group)
    assert lazy.commands == {}
    expected = _help(eager)
    assert _help(lazy) == expected
    assert lazy.commands == {}  # listing loaded nothing
    assert lazy.get_command(click.Context(lazy), "list") is eager.commands["snapshots"]
    assert _help(lazy) == expected


def test_help_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """``snapkit --help | head -1``: the reader went away; no traceback, as for any command."""
    for args in (["--help"], ["snapshots", "--help"]):
        proc = subprocess.Popen([sys.executable, "-m", "snapkit", *args], env=cli_env(tmp_path),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 1 and err == b"", (args, err)
