"""The ``snapkit`` command group and the error boundary.

``main()`` turns every failure into one line on stderr and a documented exit code (see the
README): SnapkitError subclasses carry their own code, click usage errors exit 2, Ctrl-C and
SIGTERM exit 130, and anything unexpected exits 1 with a hint to rerun with ``-v`` for the
traceback. Every line it prints, and the traceback, goes through
:func:`~snapkit.store.location.redact`: a secret in a repository URL is never shown.
"""

from __future__ import annotations

import signal
import sys
import traceback
from types import FrameType
from typing import Any

import click

from snapkit import __version__
from snapkit.cli.browse_cmd import cat, find_cmd, ls, show
from snapkit.cli.check_cmd import check
from snapkit.cli.common import VERBOSE, global_options, group_settings
from snapkit.cli.config_cmd import config, where
from snapkit.cli.diff_cmd import diff
from snapkit.cli.export_cmd import export, verify_archive_cmd
from snapkit.cli.forget_cmd import forget
from snapkit.cli.import_cmd import import_cmd
from snapkit.cli.init_cmd import init
from snapkit.cli.prune_cmd import prune
from snapkit.cli.repair_cmd import repair
from snapkit.cli.restore_cmd import restore
from snapkit.cli.snap_cmd import snap
from snapkit.cli.snapshots_cmd import snapshots
from snapkit.format.errors import (
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Interrupted,
    SnapkitError,
)
from snapkit.store.location import redact

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


ALIASES = {"list": "snapshots"}


class _Group(click.Group):
    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="snapkit")
@global_options
@click.pass_context
def cli(ctx: click.Context, repo: str | None, config: str | None, json_out: bool, quiet: bool,
        verbose: bool) -> None:
    """Deduplicated, incremental snapshots of an OpenClaw installation or any directory.

    \b
    snapkit snap                     back up ~/.openclaw into ~/.local/share/snapkit/repo
    snapkit snapshots                list snapshots
    snapkit restore latest -t DIR    restore the newest snapshot below DIR
    """
    ctx.obj = group_settings(ctx, repo=repo, config=config, json_out=json_out, quiet=quiet,
                             verbose=verbose)


cli.add_command(init)
cli.add_command(snap)
cli.add_command(snapshots)
cli.add_command(restore)
cli.add_command(config)
cli.add_command(where)
cli.add_command(export)
cli.add_command(verify_archive_cmd)
cli.add_command(import_cmd)
cli.add_command(diff)
cli.add_command(check)
cli.add_command(forget)
cli.add_command(prune)
cli.add_command(repair)
cli.add_command(show)
cli.add_command(ls)
cli.add_command(cat)
cli.add_command(find_cmd)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Interrupted("terminated (SIGTERM); the repository is unchanged since the last "
                      "snapshot and still valid")


def _error(message: str) -> None:
    """One line on stderr, with any secret in a URL replaced by ``***``."""
    click.echo(redact(message), err=True)


def _traceback() -> None:
    """The current exception's traceback (for ``-v``), secrets in URLs redacted."""
    click.echo(redact(traceback.format_exc()), err=True, nl=False)


def main(argv: list[str] | None = None) -> Any:
    """Console entry point."""
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _on_sigterm)
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
                   "truncated or damaged; use a complete copy)")
            sys.exit(EXIT_FATAL)
        _error("snapkit: interrupted; the repository is still valid")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # bare `snapkit`
            click.echo(ctx.get_help())
            sys.exit(0)
        message = " ".join(exc.format_message().split())
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            message += f" (see `{exc.ctx.command_path} --help`)"
        _error(f"snapkit: error: {message}")
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except SnapkitError as exc:
        if VERBOSE["on"]:
            _traceback()
        _error(f"snapkit: error: {exc.message}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _error("snapkit: interrupted; the repository is still valid")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(EXIT_FATAL)
    except OSError as exc:
        if VERBOSE["on"]:
            _traceback()
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"snapkit: error: {exc.strerror or exc}{where}")
        sys.exit(EXIT_FATAL)
    except Exception as exc:  # the error boundary: never a bare traceback
        if VERBOSE["on"]:
            _traceback()
        _error(f"snapkit: internal error: {type(exc).__name__}: {exc} (rerun with -v for the "
               "traceback and report it)")
        sys.exit(EXIT_FATAL)
    sys.exit(0)
