"""The ``snapkit`` command group and the error boundary.

``main()`` turns every failure into one line on stderr and a documented exit code (see the
README): SnapkitError subclasses carry their own code, click usage errors exit 2, Ctrl-C and
SIGTERM exit 130, and anything unexpected exits 1 with a hint to rerun with ``-v`` for the
traceback. Every line it prints, and the traceback, goes through
:func:`~snapkit.store.location.redact`: a secret in a repository URL is never shown.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any

import click

from snapkit import __version__
from snapkit.cli import help_page
from snapkit.cli.common import JSON_OUTPUT, VERBOSE, global_options, group_settings
from snapkit.format.errors import (
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Interrupted,
    SnapkitError,
)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": help_page.MAX_WIDTH}


#: The command table, the aliases and the group's help live in the click-free
#: :mod:`snapkit.cli.help_page`, which prints ``snapkit --help`` without importing click.
COMMANDS, ALIASES = help_page.COMMANDS, help_page.ALIASES


class _Group(click.Group):
    """The ``snapkit`` group: aliases, and commands imported from :data:`COMMANDS` on first
    use (the help listing reads the table, not the commands)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = ALIASES.get(cmd_name, cmd_name)
        if name not in self.commands and name in COMMANDS:
            module, attr = COMMANDS[name][0].split(":")
            # __import__, not importlib.import_module: `python -X importtime` lists it
            command = getattr(__import__(f"snapkit.cli.{module}", fromlist=[attr]), attr)
            self.add_command(command, name)
        return self.commands.get(name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """As click's, and an unknown command's error names the closest ones."""
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, [*COMMANDS, *ALIASES], n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list as click writes it, read from :data:`COMMANDS`: a command not
        loaded yet stands in as a bare command with its one-line help."""
        commands = [(name, self.commands.get(name) or click.Command(name, help=COMMANDS[name][1]))
                    for name in self.list_commands(ctx)]
        shown = [(name, c) for name, c in commands if not c.hidden]
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in shown])


@click.group(cls=_Group, context_settings=CONTEXT, help=help_page.GROUP_HELP)
@click.version_option(__version__, prog_name="snapkit")
@global_options
@click.pass_context
def cli(ctx: click.Context, repo: str | None, config: str | None, password_file: str | None,
        json_out: bool, quiet: bool, verbose: bool) -> None:
    """The ``snapkit`` group (its help: :data:`snapkit.cli.help_page.GROUP_HELP`)."""
    ctx.obj = group_settings(ctx, repo=repo, config=config, password_file=password_file,
                             json_out=json_out, quiet=quiet, verbose=verbose)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Interrupted("terminated (SIGTERM); the repository is unchanged since the last "
                      "snapshot and still valid")


def _error(message: str, exit_code: int | None = None) -> None:
    """One line on stderr, with any secret in a URL replaced by ``***``; under ``--json`` a
    JSON object (``{"event": "error", "message", "exit_code"}``) instead, for scripts."""
    from snapkit.store.location import redact

    if JSON_OUTPUT["on"] and exit_code is not None:
        import json

        text = redact(message).removeprefix("snapkit: error: ").removeprefix("snapkit: ")
        click.echo(json.dumps({"event": "error", "message": text, "exit_code": exit_code}),
                   err=True)
        return
    click.echo(redact(message), err=True)


def _traceback() -> None:
    """The current exception's traceback (for ``-v``), secrets in URLs redacted."""
    import traceback

    from snapkit.store.location import redact

    click.echo(redact(traceback.format_exc()), err=True, nl=False)


def _command_path(argv: list[str] | None) -> str:
    """``snapkit COMMAND`` for the first command name in ``argv``, else ``snapkit``."""
    for arg in sys.argv[1:] if argv is None else argv:
        if arg in COMMANDS or arg in ALIASES:
            return f"snapkit {ALIASES.get(arg, arg)}"
    return "snapkit"


def main(argv: list[str] | None = None) -> Any:
    """Console entry point."""
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _on_sigterm)
    # Until the options are parsed (a usage error may come first): --json on the command line
    # or a true SNAPKIT_JSON.
    JSON_OUTPUT["on"] = "--json" in (sys.argv[1:] if argv is None else argv) or (
        os.environ.get("SNAPKIT_JSON", "").strip().lower() in ("1", "true", "yes", "on", "t", "y"))
    try:
        cli.main(args=argv, prog_name="snapkit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort as exc:
        if isinstance(exc.__context__, EOFError):
            # click turns an EOFError into Abort: here it is a compressed input that ends
            # early (a truncated archive), not a Ctrl-C.
            if VERBOSE["on"]:
                _traceback()
            _error(f"snapkit: error: unexpected end of data: {exc.__context__} (the input is "
                   "truncated or damaged; use a complete copy)", EXIT_FATAL)
            sys.exit(EXIT_FATAL)
        _error("snapkit: interrupted; the repository is still valid", EXIT_INTERRUPTED)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # bare `snapkit`
            click.echo(ctx.get_help())
            sys.exit(0)
        message = " ".join(exc.format_message().split())
        if isinstance(exc, click.UsageError):
            # An option's parse error carries no context: the command is found in argv.
            path = exc.ctx.command_path if exc.ctx is not None else _command_path(argv)
            message += f" (see `{path} --help`)"
        code = EXIT_USAGE if exc.exit_code == 2 else exc.exit_code
        _error(f"snapkit: error: {message}", code)
        sys.exit(code)
    except SnapkitError as exc:
        if VERBOSE["on"]:
            _traceback()
        # (an interruption is not an error of the command: "snapkit: interrupted; ...")
        _error(f"snapkit: {'' if isinstance(exc, Interrupted) else 'error: '}{exc.message}",
               exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _error("snapkit: interrupted; the repository is still valid", EXIT_INTERRUPTED)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(EXIT_FATAL)
    except OSError as exc:
        if VERBOSE["on"]:
            _traceback()
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"snapkit: error: {exc.strerror or exc}{where}", EXIT_FATAL)
        sys.exit(EXIT_FATAL)
    except Exception as exc:  # the error boundary: never a bare traceback
        if VERBOSE["on"]:
            _traceback()
        _error(f"snapkit: internal error: {type(exc).__name__}: {exc} (rerun with -v for the "
               "traceback and report it)", EXIT_FATAL)
        sys.exit(EXIT_FATAL)
    sys.exit(0)
