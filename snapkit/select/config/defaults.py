"""The built-in defaults that are right for an OpenClaw installation, and the config's vocabulary.

The exclusion lists OpenClaw sources get when no file says otherwise, the ``config-only``
mode's patterns, the gateway's process pattern, and the keys and values a config file may
use. Data only: the records are in :mod:`~snapkit.select.config.records`, the rules that check a
file
against these names in :mod:`~snapkit.select.config.validate`.
"""

from __future__ import annotations

from typing import Literal

#: Rebuildable or volatile files by extension (no dot). ``lock`` drops OpenClaw's ephemeral
#: session and store locks; the lockfiles of package managers, which a workspace project needs,
#: are re-included by :data:`LOCKFILE_KEEP` in ``exclude``.
DEFAULT_EXCLUDED_EXTENSIONS: tuple[str, ...] = (
    "log", "tmp", "pyc", "bak", "swp", "lock", "pid", "sock",
)

#: Package-manager lockfiles: project data, not ephemeral locks (re-included after ``lock``).
LOCKFILE_KEEP: tuple[str, ...] = (
    "!Cargo.lock", "!poetry.lock", "!uv.lock", "!yarn.lock", "!flake.lock", "!Gemfile.lock",
    "!Pipfile.lock", "!composer.lock", "!pdm.lock", "!bun.lock", "!mix.lock", "!Podfile.lock",
    "!packages.lock", "!pubspec.lock", "!conda-lock.yml",
)

#: Folder names excluded at any depth: only names that are never user data.
DEFAULT_EXCLUDED_FOLDERS: tuple[str, ...] = (
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
)

#: File names excluded at any depth.
DEFAULT_EXCLUDED_FILES: tuple[str, ...] = (".DS_Store", "Thumbs.db")

#: Directories of the OpenClaw state-dir layout, anchored at the source root. They are generic
#: words, so they are not folder names (which match at any depth) and they do not apply to a
#: workspace root (see :func:`exclusion_keys`). The first block is the older layout's volatile
#: dirs; the second is what OpenClaw 2026.9's own backup leaves out as regenerable ("managed
#: state": ``npm``, ``npm-runtime``, ``git``, ``dev``, ``tools``, ``tmp``; ``plugin-skills``)
#: or volatile (``cache/control-ui-assets``, 51 MiB once the gateway has run;
#: ``sandbox/skills-workspaces``) — ``dist/backup-shared-*.mjs``.
STATE_DIR_EXCLUDES: tuple[str, ...] = (
    "/logs/",
    "/tmp/",
    "/media/",
    "/browser/",
    "/delivery-queue/",
    "/skills-backup/",
    "/cron/runs/",
    "/cache/control-ui-assets/",
    "/npm/",
    "/npm-runtime/",
    "/git/",
    "/dev/",
    "/tools/",
    "/plugin-skills/",
    "/sandbox/skills-workspaces/",
    "/agents/*/agent/**/tmp/",
    "/agents/*/agent/**/.tmp/",
)

#: File globs (unanchored: any depth) for rotations, stuck-session spam, lock files and SQLite
#: sidecars. The SQLite files themselves are captured through the online backup API.
FILE_EXCLUDES: tuple[str, ...] = (
    "openclaw.json.bak*",
    "*.jsonl.bak-*",
    "*.jsonl.lock",
    "*.json.lock",
    "*.sqlite-wal",
    "*.sqlite-shm",
    "*.sqlite-journal",
    "*.sqlite3-wal",
    "*.sqlite3-shm",
    "*.sqlite3-journal",
    "*.db-wal",
    "*.db-shm",
    "*.db-journal",
    # OpenClaw 2026.9's transient SQLite files (memory re-index and backup scratch copies).
    "*.sqlite.generation-lock.sqlite*",
    "*.sqlite.generation-writer.sqlite*",
    "*.sqlite.reindex-lock.sqlite*",
    "*.sqlite.backup-*",
    "*.sqlite.memory-reindex-*",
    "*.sqlite.tmp-*",
)

DEFAULT_EXCLUDE: tuple[str, ...] = STATE_DIR_EXCLUDES + FILE_EXCLUDES + LOCKFILE_KEEP

#: The ``config-only`` mode: configuration, secrets and small state that losing breaks the
#: agent. Relative to the state dir (patterns under ``/agents/*/agent/`` also apply, re-rooted,
#: to an agent dir that lies elsewhere). Files pulled in by ``$include`` and the env files are
#: added by discovery. Since 2026.8 OpenClaw keeps API keys and OAuth (``authProfiles.store``),
#: cron jobs, device identity and exec approvals in ``state/openclaw.sqlite`` and per agent in
#: ``openclaw-agent.sqlite``: both are copied through SQLite's online backup API. The JSON files
#: are the older layout's (still found on upgraded installs, and read by OpenClaw's migration).
CONFIG_ONLY_PATTERNS: tuple[str, ...] = (
    "/openclaw.json",
    "/.env",
    "/secrets.json",
    "/config-journal-fingerprint.key",
    "/state/openclaw.sqlite",
    "/credentials/**",
    "/agents/*/agent/openclaw-agent.sqlite",
    "/agents/*/agent/auth-profiles.json",
    "/agents/*/agent/auth.json",
    "/agents/*/agent/models.json",
    "/cron/jobs.json",
    "/devices/**",
    "/identity/**",
    "/exec-approvals.json",
    "/skills/**",
)

#: Matches the command line (arguments joined by spaces) of a running OpenClaw gateway:
#: ``node …/openclaw/dist/index.js gateway --port 18789``, ``openclaw gateway [run] [--opts]``,
#: ``openclaw --profile work gateway``, or a process titled ``openclaw-gateway``; but not the
#: short-lived ``openclaw gateway stop|start|status`` commands nor a path like
#: ``~/.openclaw/logs/gateway.err.log``.
DEFAULT_PROCESS_PATTERN = (
    r"(?i)(?:^|[\s/\\])"
    r"(?:openclaw(?:\.m?js|\.cmd|\.exe)?|openclaw[/\\]dist[/\\][\w.-]+\.m?js)"
    r"(?:\s+--(?:profile|log-level|container)(?:=|\s+)\S+|\s+--[\w-]+(?:=\S+)?)*"
    r"\s+gateway(?:\s+run)?(?:\s+-.*)?$"
    r"|(?:^|[\s/\\])openclaw-gateway(?:\.exe)?(?:\s|$)"
)

#: What a snapshot does with a symlink: list it as skipped, or record it as a link (never
#: followed either way).
SymlinkPolicy = Literal["skip", "record"]
SYMLINK_POLICIES: tuple[SymlinkPolicy, ...] = ("skip", "record")
#: When to stop the gateway around a snapshot.
ServicePolicy = Literal["auto", "always", "never"]
SERVICE_POLICIES: tuple[ServicePolicy, ...] = ("auto", "always", "never")
#: How a SQLite database is read: through the online backup API, raw, or not at all.
SqlitePolicy = Literal["backup-api", "raw", "skip"]
SQLITE_POLICIES: tuple[SqlitePolicy, ...] = ("backup-api", "raw", "skip")

TOP_LEVEL_KEYS = (
    "excluded_extensions",
    "excluded_folders",
    "excluded_files",
    "exclude",
    "max_file_size",
    "openclaw",
    "symlinks",
    "modes",
    "sources",
    "sqlite",
    "service",
    "compression",
    "retention",
)
SERVICE_KEYS = (
    "policy",
    "stop_command",
    "start_command",
    "status_command",
    "process_pattern",
    "stop_timeout",
    "start_timeout",
)
COMPRESSION_KEYS = ("zstd_level", "gzip_level")
#: The exclusion lists: top-level keys (every source) and the keys of ``openclaw`` (OpenClaw
#: sources only).
EXCLUSION_LISTS = ("excluded_extensions", "excluded_folders", "excluded_files", "exclude")
MODE_KEYS = ("include",)
#: The keep policy of ``snap --forget`` (and ``schedule install --forget`` without
#: ``--keep-*``): ``forget``'s ``--keep-*`` options, one key each.
RETENTION_KEYS = ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
                  "keep_yearly", "keep_within", "keep_tag")
