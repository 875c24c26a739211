"""``snapkit --help`` without click: the command table, the global options' help, and a
renderer that lays the group's help page out exactly as click does.

``snapkit --help`` (and a bare ``snapkit``) is what a new user runs first and what shells and
scripts call to probe the tool; importing click alone takes longer than the interpreter's own
start. So the console entry point (:func:`snapkit.cli.entry.main`) prints this page itself and
loads click only to run a command. Everything the page shows lives here, once: the command
group (``snapkit.cli.main``) takes :data:`COMMANDS`, :data:`ALIASES` and :data:`GROUP_HELP`
from this module and ``snapkit.cli.common`` the options' help texts, and
``tests/test_startup.py`` checks that :func:`group_help` equals click's own page at every
terminal width. The layout functions follow click's ``formatting`` module (BSD-3-Clause,
Pallets): definition lists, paragraph wrapping with ``\\b`` blocks, the width rule.
"""

from __future__ import annotations

import os
import sys
import textwrap

#: Every command: its name -> (``module:attribute``, the one-line help ``snapkit --help``
#: lists). A command's module is imported only when it runs or shows its own help;
#: tests/test_startup.py checks that each line here equals the command's own short help.
COMMANDS: dict[str, tuple[str, str]] = {
    "cat": ("browse_cmd:cat", "Write the content of one file of SNAPSHOT to stdout."),
    "check": ("check_cmd:check", "Verify the repository and name what any damage costs."),
    "copy": ("copy_cmd:copy", "Copy snapshots to another repository (e.g. local to S3), "
             "sending only the data it lacks."),
    "config": ("config_cmd:config", "Create, show and locate the configuration file."),
    "diff": ("diff_cmd:diff", "Compare two snapshots, or (with one) a snapshot with the files "
             "on disk now."),
    "export": ("export_cmd:export", "Write SNAPSHOT as a standard archive that plain "
               "`tar -xzf` restores anywhere."),
    "find": ("browse_cmd:find_cmd", "Which snapshots hold paths matching PATTERN "
             "(gitignore-style glob: `*.json`, `/home/me/.openclaw/credentials/**`), with size "
             "and mtime."),
    "forget": ("forget_cmd:forget", "Remove snapshots given by id, or those a keep policy "
               "does not keep."),
    "generate": ("generate_cmd:generate", "Write shell completion scripts and man pages."),
    "import": ("import_cmd:import_cmd", "Import ARCHIVE (tar, tar.gz or tar.zst) as a new, "
               "deduplicated snapshot."),
    "key": ("key_cmd:key", "Manage the passphrases of an encrypted repository: add, list, "
            "remove, passwd."),
    "init": ("init_cmd:init", "Create a new, empty repository at --repo (or the default "
             "path)."),
    "ls": ("browse_cmd:ls", "List the entries of SNAPSHOT at PATH (default: each source)."),
    "mount": ("mount_cmd:mount", "Browse every snapshot in a read-only filesystem mounted at "
              "MOUNTPOINT (FUSE), until Ctrl-C or `umount MOUNTPOINT`."),
    "prune": ("prune_cmd:prune", "Delete packs no snapshot uses and repack mostly-unused "
              "ones."),
    "repair": ("repair_cmd:repair", "Repair a damaged repository (each takes the exclusive "
               "lock)."),
    "restore": ("restore_cmd:restore", "Restore SNAPSHOT (id, unique prefix, `latest` or a "
                "tag; ~N for an earlier one) into --target."),
    "schedule": ("schedule_cmd:schedule", "Take snapshots on a schedule: a systemd timer, "
                 "LaunchAgent, Scheduled Task or crontab line."),
    "show": ("browse_cmd:show", "Print a snapshot's manifest: sources, host, counts, service "
             "actions, skipped entries."),
    "snap": ("snap_cmd:snap", "Snapshot PATHS (default: the OpenClaw installation) into the "
             "repository."),
    "snapshots": ("snapshots_cmd:snapshots", "List snapshots, oldest first."),
    "stats": ("stats_cmd:stats", "Sizes of SNAPSHOTS (default: all): what they restore to, "
              "the unique data behind them (deduplication) and what it takes in the "
              "repository (compression)."),
    "tag": ("tag_cmd:tag", "Add, remove or set the tags of SNAPSHOTS (ids, prefixes, "
            "`latest` or tags)."),
    "unlock": ("unlock_cmd:unlock", "Remove stale locks: those whose process is gone (same "
               "host), or not refreshed for 30 minutes (another host), or damaged."),
    "verify-archive": ("export_cmd:verify_archive_cmd", "Check an exported archive's files "
                       "against the checksums it carries."),
    "where": ("config_cmd:where", "Show the OpenClaw installation snapkit found (state dir, "
              "config, env files, each agent's workspace and agent dir, and where each came "
              "from), and the repository and config it uses."),
}

#: Other names a command answers to (not listed by ``--help``).
ALIASES = {"list": "snapshots", "backup": "snap"}

#: The group's own help (its docstring, as click shows it).
GROUP_HELP = """Deduplicated, incremental snapshots of an OpenClaw installation or any directory.

\b
snapkit snap                     back up ~/.openclaw into ~/.local/share/snapkit/repo
snapkit snapshots                list snapshots
snapkit restore latest -t DIR    restore the newest snapshot below DIR"""

#: The global options' help (``snapkit.cli.common.global_options`` builds them from these).
HELP_REPO = ("Repository: a path, or s3:https://host/bucket/prefix [env SNAPKIT_REPO; default "
             "$XDG_DATA_HOME/snapkit/repo].")
HELP_CONFIG = "Config file [env SNAPKIT_CONFIG; default $XDG_CONFIG_HOME/snapkit/config.json]."
HELP_PASSWORD_FILE = ("An encrypted repository's passphrase is in FILE [env "
                      "SNAPKIT_PASSWORD_FILE; or SNAPKIT_PASSWORD_COMMAND, SNAPKIT_PASSWORD; "
                      "else asked on a terminal].")
HELP_JSON = "Machine-readable JSON output (JSON lines for streams)."
HELP_QUIET = "Print only errors and the essential result."
HELP_VERBOSE = "More detail; tracebacks on internal errors."

#: The group's options as ``--help`` lists them: (how they are written, their help).
OPTIONS = (
    ("--version", "Show the version and exit."),
    ("-r, --repo PATH|URL", HELP_REPO),
    ("--config FILE", HELP_CONFIG),
    ("--password-file FILE", HELP_PASSWORD_FILE),
    ("--json", HELP_JSON),
    ("-q, --quiet", HELP_QUIET),
    ("-v, --verbose", HELP_VERBOSE),
    ("-h, --help", "Show this message and exit."),
)

#: click's ``max_content_width`` for snapkit (``snapkit.cli.main.CONTEXT``).
MAX_WIDTH = 100


def group_help(width: int | None = None) -> str:
    """The page ``snapkit --help`` prints, for a terminal ``width`` columns wide (None: this
    one's, as click measures it), with its final newline."""
    out = _Formatter(help_width() if width is None else width)
    out.write_usage("snapkit", "[OPTIONS] COMMAND [ARGS]...")
    out.write_paragraph()
    out.indent()
    out.write_text(GROUP_HELP)
    out.dedent()
    out.section("Options")
    out.write_dl(list(OPTIONS))
    out.dedent()
    names = sorted(COMMANDS)
    limit = out.width - 6 - max(len(n) for n in names)
    out.section("Commands")
    out.write_dl([(n, short_help(COMMANDS[n][1], limit)) for n in names])
    out.dedent()
    return "".join(out.buffer).rstrip("\n") + "\n"


def help_width() -> int:
    """click's help width: the terminal's columns (``$COLUMNS`` first, 80 when unknown), at
    most :data:`MAX_WIDTH`, minus 2, at least 50 (``shutil.get_terminal_size``'s rules)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return max(min(columns, MAX_WIDTH) - 2, 50)


def short_help(text: str, limit: int) -> str:
    """click's one-line help from a command's help: the first sentence, shortened."""
    words = text.partition("\n\n")[0].split()
    if words and words[0] == "\b":
        words = words[1:]
    if not words:
        return ""
    last = len(words) - 1
    for i, word in enumerate(words):
        if word.endswith(".") and (i == last or not words[i + 1][0].islower()):
            words = words[: i + 1]
            break
    line = " ".join(words)
    if len(line) <= limit:
        return line
    if limit < 3:
        return "..."
    return textwrap.shorten(line, limit, placeholder="...", break_on_hyphens=False).strip()


class _Wrapper(textwrap.TextWrapper):
    """click's wrapper: a word longer than the line is cut where the line ends."""

    def _handle_long_word(self, reversed_chunks: list[str], cur_line: list[str],
                          cur_len: int, width: int) -> None:
        space_left = max(width - cur_len, 1)
        if self.break_long_words:
            last = reversed_chunks[-1]
            cur_line.append(last[:space_left])
            reversed_chunks[-1] = last[space_left:]
        elif not cur_line:
            cur_line.append(reversed_chunks.pop())


def _wrap(text: str, width: int, indent: str = "") -> str:
    """``text``'s paragraphs wrapped to ``width`` (``\\b`` paragraphs kept as they are)."""
    wrapper = _Wrapper(width, initial_indent=indent, subsequent_indent=indent,
                       replace_whitespace=False)
    paragraphs: list[tuple[int, bool, str]] = []
    lines: list[str] = []
    depth: int | None = None

    def flush() -> None:
        if lines:
            raw = lines[0].strip() == "\b"
            paragraphs.append((depth or 0, raw, "\n".join(lines[1:]) if raw else " ".join(lines)))
            lines.clear()

    for line in text.expandtabs().splitlines():
        if not line:
            flush()
            depth = None
            continue
        if depth is None:
            stripped = line.lstrip()
            depth = len(line) - len(stripped)
            line = stripped
        lines.append(line)
    flush()
    out = []
    for extra, raw, body in paragraphs:
        wrapper.initial_indent = wrapper.subsequent_indent = indent + " " * extra
        if raw:
            out.append("\n".join(wrapper.initial_indent + ln for ln in body.splitlines()))
        else:
            out.append(wrapper.fill(body))
    return "\n\n".join(out)


class _Formatter:
    """The parts of click's ``HelpFormatter`` the group page uses."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.current = 0
        self.buffer: list[str] = []

    def indent(self) -> None:
        self.current += 2

    def dedent(self) -> None:
        self.current -= 2

    def write_usage(self, prog: str, args: str) -> None:
        prefix = f"{'Usage: ':>{self.current}}{prog} "
        self.buffer.append(_Wrapper(self.width - self.current, initial_indent=prefix,
                                    subsequent_indent=" " * len(prefix),
                                    replace_whitespace=False).fill(args) + "\n")

    def write_paragraph(self) -> None:
        if self.buffer:
            self.buffer.append("\n")

    def write_text(self, text: str) -> None:
        self.buffer.append(_wrap(text, self.width, " " * self.current) + "\n")

    def section(self, name: str) -> None:
        self.write_paragraph()
        self.buffer.append(f"{'':>{self.current}}{name}:\n")
        self.indent()

    def write_dl(self, rows: list[tuple[str, str]], col_max: int = 30) -> None:
        first_col = min(max(len(first) for first, _ in rows), col_max) + 2
        for first, second in rows:
            self.buffer.append(f"{'':>{self.current}}{first}")
            if len(first) <= first_col - 2:
                self.buffer.append(" " * (first_col - len(first)))
            else:
                self.buffer.append("\n" + " " * (first_col + self.current))
            lines = _wrap(second, max(self.width - first_col - 2, 10)).splitlines()
            self.buffer.append(f"{lines[0]}\n" if lines else "\n")
            for line in lines[1:]:
                self.buffer.append(f"{'':>{first_col + self.current}}{line}\n")
