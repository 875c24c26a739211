"""What every command shares: global options, opening the repository, output and progress.

Global options can be given before the command (``snapkit --repo R snap``) or after it
(``snapkit snap --repo R``), and each has a ``SNAPKIT_*`` environment variable. The group and
the command both declare them; an option given on the command line beats its variable wherever
it stands (click's parameter source tells which), the one after the command winning a tie.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from snapkit.cli import help_page

if TYPE_CHECKING:  # the functions that need more of snapkit import it when called
    from pathlib import Path

    from snapkit.cli.progress_line import Pace
    from snapkit.format.model import Skipped
    from snapkit.ops.events import Event, FileWritten
    from snapkit.store.repository import Repository

F = TypeVar("F", bound=Callable[..., Any])

#: Byte counts for people ("618 B", "10.0 MiB"), as every command prints them: this is
#: :func:`snapkit.select.sizes.format_size`, which ``__getattr__`` imports when a command first
#: asks for it (``snapkit --help`` does not).
human_bytes: Callable[[float], str]


def __getattr__(name: str) -> Any:
    if name == "human_bytes":
        from snapkit.select.sizes import format_size

        return format_size
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


VERBOSE = {"on": False}
#: Whether the running command was asked for JSON (its errors are JSON too: ``cli.main``).
JSON_OUTPUT = {"on": False}


@dataclass
class Settings:
    repo: str | None = None
    config: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    #: ``--password-file``: where an encrypted repository's passphrase is read from
    password_file: str | None = None
    #: The settings given on the command line before the command (``snapkit --repo R cmd``):
    #: they beat the command's own options that only came from an environment variable.
    explicit: frozenset[str] = frozenset()


#: Settings field -> the click parameter name of its global option.
_PARAMS = {"repo": "repo", "config": "config", "json": "json_out", "quiet": "quiet",
           "verbose": "verbose", "password_file": "password_file"}


def _from_command_line(ctx: click.Context, param: str) -> bool:
    return ctx.get_parameter_source(param) is ParameterSource.COMMANDLINE


def group_settings(ctx: click.Context, **kw: Any) -> Settings:
    """The global options as the ``snapkit`` group got them (before the command)."""
    values = {field: kw.get(param) for field, param in _PARAMS.items()}
    explicit = frozenset(f for f, p in _PARAMS.items() if _from_command_line(ctx, p))
    settings = Settings(repo=values["repo"], config=values["config"],
                        json=bool(values["json"]), quiet=bool(values["quiet"]),
                        verbose=bool(values["verbose"]), password_file=values["password_file"],
                        explicit=explicit)
    VERBOSE["on"] = settings.verbose
    # (the command's own options are not parsed yet: a --json after it still counts)
    JSON_OUTPUT["on"] = JSON_OUTPUT["on"] or settings.json
    return settings


def _merge(ctx: click.Context, **kw: Any) -> Settings:
    """The command's global options merged with the group's: an option given on the command
    line wins, after the command over before it; then the environment variable (which both
    read), then the default. So ``SNAPKIT_REPO=A snapkit --repo B cmd`` uses B."""
    s = ctx.find_object(Settings) or Settings()
    picked: dict[str, Any] = {}
    for field, param in _PARAMS.items():
        mine, theirs = kw.get(param), getattr(s, field)
        if _from_command_line(ctx, param):
            picked[field] = mine
        elif field in s.explicit:
            picked[field] = theirs
        else:
            picked[field] = mine or theirs
    merged = Settings(
        repo=picked["repo"],
        config=picked["config"],
        json=bool(picked["json"]),
        quiet=bool(picked["quiet"]),
        verbose=bool(picked["verbose"]),
        password_file=picked["password_file"],
    )
    VERBOSE["on"] = merged.verbose
    JSON_OUTPUT["on"] = merged.json
    if merged.json or "snapkit.ops.passphrase" in sys.modules:
        # the passphrase's warnings (a password file others can read) as JSON too
        from snapkit.ops.passphrase import JSON_WARNINGS

        JSON_WARNINGS["on"] = merged.json
    if merged.password_file:
        # where snapkit.ops.passphrase looks (an option beats the variable it replaces here)
        os.environ["SNAPKIT_PASSWORD_FILE"] = merged.password_file
    return merged


def global_options(f: F) -> F:
    """Add --repo, --config, --password-file, --json, -q, -v to a command (or the group)."""
    options = [
        click.option("--repo", "-r", metavar="PATH|URL", envvar="SNAPKIT_REPO",
                     help=help_page.HELP_REPO),
        # No click envvar: $SNAPKIT_CONFIG is read by snapkit.select.config.config_search_path, so
        # it is reported as "$SNAPKIT_CONFIG" (not "--config") by `config path` and errors.
        click.option("--config", "config", metavar="FILE", help=help_page.HELP_CONFIG),
        click.option("--password-file", "password_file", metavar="FILE",
                     envvar="SNAPKIT_PASSWORD_FILE", help=help_page.HELP_PASSWORD_FILE),
        click.option("--json", "json_out", is_flag=True, envvar="SNAPKIT_JSON",
                     help=help_page.HELP_JSON),
        click.option("-q", "--quiet", is_flag=True, envvar="SNAPKIT_QUIET",
                     help=help_page.HELP_QUIET),
        click.option("-v", "--verbose", is_flag=True, envvar="SNAPKIT_VERBOSE",
                     help=help_page.HELP_VERBOSE),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def group_by_callback(_ctx: click.Context, _param: click.Parameter,
                      value: str | None) -> tuple[str, ...] | None:
    """``--group-by``'s comma-separated fields, checked (None: not given)."""
    from snapkit.maintain.retention import GROUP_FIELDS, check_group_by

    if value is None:
        return None
    fields = tuple(f.strip() for f in value.split(",") if f.strip())
    bad = [f for f in fields if f not in GROUP_FIELDS]
    if bad:
        raise click.BadParameter(f"unknown field {bad[0]!r}; use a comma-separated list of "
                                 f"{', '.join(GROUP_FIELDS)}, or '' for one group")
    return check_group_by(fields)


def with_settings(f: F) -> F:
    """Decorator: collapse the global options into a ``settings`` argument."""

    @global_options
    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        ctx = click.get_current_context()
        settings = _merge(
            ctx,
            repo=kw.pop("repo", None),
            config=kw.pop("config", None),
            json_out=kw.pop("json_out", False),
            quiet=kw.pop("quiet", False),
            verbose=kw.pop("verbose", False),
            password_file=kw.pop("password_file", None),
        )
        try:
            return f(*args, settings=settings, **kw)
        except KeyboardInterrupt:
            # Said here, not by click, which first prints a blank line (to close a terminal's
            # ``^C``: junk in a log, and a second line under --json).
            from snapkit.format.errors import Interrupted

            if sys.stderr is not None and sys.stderr.isatty():
                sys.stderr.write("\n")
            raise Interrupted("interrupted; the repository is still valid") from None

    return wrapper  # type: ignore[return-value]


def repo_path(settings: Settings) -> Path | str:
    """The repository location: an absolute local path, or an ``s3:`` URL kept as written."""
    from pathlib import Path

    from snapkit.store.location import is_remote
    from snapkit.store.repository import default_repo_path

    if settings.repo:
        if is_remote(settings.repo):
            return settings.repo
        return Path(os.path.abspath(os.path.expanduser(settings.repo)))
    return default_repo_path()


def open_repo(settings: Settings, create: bool = False) -> Repository:
    """Open the repository; with ``create``, make one first when nothing is there yet."""
    from snapkit.ops.repo import open_repository

    return open_repository(repo_path(settings), create=create,
                           on_event=functools.partial(echo_event, settings))


def notice(settings: Settings, message: str) -> None:
    """A one-line notice on stderr (suppressed by -q)."""
    if not settings.quiet:
        click.echo(message, err=True)


#: Control characters (C0, DEL, C1) as a line of output shows them.
_CONTROL = {c: (f"\\x{c:02x}" if c not in (9, 10, 13) else {9: "\\t", 10: "\\n", 13: "\\r"}[c])
            for c in [*range(32), *range(127, 160)]}


def shown(path: str) -> str:
    """``path`` for a line of output: control characters (a newline in a file name, an escape
    sequence) written as ``\\n``, ``\\x1b``…, so one entry is one line and a name cannot drive
    the terminal. ``--json`` output keeps names as they are."""
    return path.translate(_CONTROL) if not path.isprintable() else path


def count_reasons(skipped: Iterable[Skipped]) -> dict[str, int]:
    """How many entries were skipped for each reason, by reason name."""
    return dict(sorted(Counter(k.reason for k in skipped).items()))


#: Skip reasons that name a kind of entry, and their plural (the others, such as ``vanished``
#: or ``unreadable``, say what happened and take no plural).
_KIND_NOUNS = {"symlink": "symlinks", "socket": "sockets", "fifo": "fifos",
               "device": "devices", "hardlink": "hard links", "other": "others",
               "sqlite": "SQLite databases"}
_KIND_SINGULAR = {"hardlink": "hard link", "sqlite": "SQLite database"}


def reasons_text(reasons: dict[str, int]) -> str:
    """``1 socket, 2 symlinks, 3 vanished``: :func:`count_reasons` for people."""
    parts = []
    for reason, n in sorted(reasons.items()):
        word = _KIND_SINGULAR.get(reason, reason)
        if n != 1:
            word = _KIND_NOUNS.get(reason, word)
        parts.append(f"{n:,} {word}")
    return ", ".join(parts)


def emit_json(obj: Any) -> None:
    import json

    click.echo(json.dumps(obj, sort_keys=False, default=str))


def local_time(time_ns: int) -> str:
    """A time for people: local, to the second, no zone (``2026-11-20 14:45:00``)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time_ns / 1e9))


def json_time(time_ns: int) -> str:
    """A time for ``--json``: RFC 3339 in local time with its UTC offset, to the second
    (``2026-11-20T14:45:00+01:00``; ``+00:00`` in UTC). The exact time is in ``time_ns``."""
    return datetime.fromtimestamp(time_ns // 1_000_000_000, UTC).astimezone().isoformat(
        timespec="seconds")


class ProgressLine:
    """A live status line on stderr, only when stderr is a terminal (and not -q/--json)."""

    def __init__(self, settings: Settings, interval: float = 0.2) -> None:
        self.enabled = (not settings.quiet and not settings.json
                        and sys.stderr.isatty() and os.environ.get("TERM") != "dumb")
        self.interval = interval
        self._last = 0.0
        self._shown = False

    @property
    def width(self) -> int:
        """The columns a line may take: the terminal's less one (no wrap at the last)."""
        return max(20, _columns() - 1)

    def update(self, text: str, force: bool = False) -> None:
        """Show ``text``, cut at the end if too long (``progress_line`` makes a line that
        fits: :func:`snapkit.cli.progress_line.progress_line`)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        width = self.width
        line = text if len(text) <= width else text[: width - 1] + "…"
        sys.stderr.write("\r\x1b[2K" + line)
        sys.stderr.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
            self._shown = False


class FileProgress:
    """The live line of a command that writes files (``restore``, ``export``): its
    :meth:`on_event` shows the running totals of :class:`FileWritten` events (with
    ``json_events``, under ``--json``: as JSON progress events), gives other events to
    ``handler`` (when it returns False, to :func:`echo_event`), and the line is cleared when
    the ``with`` block ends."""

    def __init__(self, settings: Settings, handler: Callable[[Event], bool] | None = None,
                 json_events: bool = False) -> None:
        self.settings = settings
        self.handler = handler
        self.line = ProgressLine(settings, interval=0)  # the operation paces its events
        self.json_events = json_events and settings.json
        self.started = time.monotonic()

    def __enter__(self) -> FileProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.line.clear()

    def on_event(self, event: Event) -> None:
        from snapkit.ops.events import FileWritten

        if isinstance(event, FileWritten):
            if self.json_events:
                emit_json(self.progress_json(event))
            elif self.line.enabled:  # (nothing formatted when no line is shown)
                self.line.update(self._text(event))
        elif self.handler is None or not self.handler(event):
            echo_event(self.settings, event)

    def _pace(self, event: FileWritten) -> Pace:
        from snapkit.cli.progress_line import pace  # (only once a line or event is shown)

        return pace(event.files, event.bytes, time.monotonic() - self.started,
                    event.total_files, event.total_bytes)

    def progress_json(self, event: FileWritten) -> dict[str, Any]:
        """A JSON progress event: the fields of ``snap``'s (no ``dirs``, ``bytes_read``)."""
        from snapkit.cli.progress_line import pace_json

        return {"event": "progress", **pace_json(self._pace(event)), "current": event.path}

    def _text(self, event: FileWritten, width: int | None = None) -> str:
        """Done (of the planned totals, when known), rate, elapsed, ETA, the current path."""
        from snapkit.cli.progress_line import progress_line

        return progress_line(self._pace(event), event.path,
                             self.line.width if width is None else width)


def _columns() -> int:
    """The terminal's width; 80 when it cannot be told (not a terminal, or a terminal with
    no window size, as under ``script -qc``: 0 columns)."""
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 80
    return columns if columns > 0 else 80


def no_lock_option(f: F) -> F:
    """``--no-lock`` (``SNAPKIT_NO_LOCK``) for the commands that only read the repository."""
    return click.option(
        "--no-lock", is_flag=True, envvar="SNAPKIT_NO_LOCK",
        help="Read without taking the shared lock (for read-only media; a concurrent prune "
             "may then delete what is being read) [env SNAPKIT_NO_LOCK].")(f)


def echo_event(settings: Settings, event: Event) -> None:
    """Print an event every operation may report (the others are the command's to print)."""
    from snapkit.ops.events import ReadingUnlocked, RepositoryCreated, RepositoryDamaged

    if isinstance(event, RepositoryCreated):
        notice(settings, f"created a new repository at {event.location} "
                         + ("(encrypted)" if event.encrypted else
                            "(not encrypted: it is in your home directory; `snapkit init "
                            "--encryption repokey` makes an encrypted one)"))
    elif isinstance(event, ReadingUnlocked):
        click.echo(f"snapkit: warning: cannot lock the repository ({event.reason}); "
                   "reading without a lock — pass --no-lock to skip trying", err=True)
    elif isinstance(event, RepositoryDamaged):
        click.echo(f"snapkit: warning: {event.message}", err=True)
