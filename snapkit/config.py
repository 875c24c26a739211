"""The JSON config file: built-in defaults, lookup, merge and validation.

This module owns everything about ``config.json``: where it is looked for (``--config``, then
``$SNAPKIT_CONFIG``, then the per-user default path), the built-in defaults that are right for an
OpenClaw installation, how a file overrides them (key by key; ``modes``, ``service`` and
``compression`` merge per sub-key), and validation that rejects a bad file at load time with one
line naming the key, the problem and the fix (:class:`~snapkit.errors.UsageError`, exit 2).
It also decides which exclusion keys apply to a source (:func:`exclusion_keys`): the built-in
defaults apply to OpenClaw sources only; any other directory gets only what the user wrote.
A file's top-level exclusion keys apply to every source; its ``openclaw`` object holds the
exclusion lists for OpenClaw sources only (replacing the built-in defaults, and winning over
the top-level keys there). ``snapkit config init`` writes the defaults under ``openclaw``, so
the file it writes selects exactly what no file selects, for every kind of source.

The file format is documented key by key in ``docs/configuration.md``.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from snapkit.errors import UsageError
from snapkit.sizes import parse_size
from snapkit.sqlite import POLICIES as SQLITE_POLICIES

# --------------------------------------------------------------------------------------------
# Defaults
# --------------------------------------------------------------------------------------------

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

SYMLINK_POLICIES = ("skip", "record")
SERVICE_POLICIES = ("auto", "always", "never")

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

_MODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")

#: True on Windows, where the per-user config lives under %APPDATA%. A module attribute so
#: tests can exercise both branches.
_IS_WINDOWS = os.name == "nt"


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceConfig:
    """How to stop, start and recognise the OpenClaw gateway around a snapshot."""

    policy: str
    stop_command: tuple[str, ...]
    start_command: tuple[str, ...]
    status_command: tuple[str, ...]
    process_pattern: str
    stop_timeout: float
    start_timeout: float = 60.0
    #: The sub-keys the user's config file sets to something other than the default (a file
    #: written by ``snapkit config init`` repeats the defaults: they do not count).
    user_keys: frozenset[str] = frozenset()

    def user_set(self, key: str) -> bool:
        """The user's config file sets ``key`` (a sub-key) to a value of their own."""
        return key in self.user_keys


@dataclass(frozen=True)
class OpenClawRules:
    """The exclusion lists for OpenClaw sources: the built-in defaults, each replaced by the
    file's ``openclaw.<key>`` when it sets one."""

    excluded_extensions: tuple[str, ...] = DEFAULT_EXCLUDED_EXTENSIONS
    excluded_folders: tuple[str, ...] = DEFAULT_EXCLUDED_FOLDERS
    excluded_files: tuple[str, ...] = DEFAULT_EXCLUDED_FILES
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE


@dataclass(frozen=True)
class Config:
    """The effective configuration: built-in defaults overridden by the user's file.

    The four exclusion lists at the top are the file's top-level keys, or the built-in
    defaults where it sets none; :func:`exclusion_keys` decides what applies to a source."""

    excluded_extensions: tuple[str, ...]
    excluded_folders: tuple[str, ...]
    excluded_files: tuple[str, ...]
    exclude: tuple[str, ...]
    max_file_size: int | None
    symlinks: str
    modes: Mapping[str, tuple[str, ...] | None]  # mode name -> include patterns (None = all)
    sources: tuple[str, ...]
    sqlite: str
    service: ServiceConfig
    zstd_level: int
    gzip_level: int
    #: Top-level keys the user's file set (the rest are defaults), and ``openclaw.<key>`` for
    #: each key its ``openclaw`` object sets.
    user_keys: frozenset[str]
    openclaw: OpenClawRules = OpenClawRules()


@dataclass(frozen=True)
class LoadedConfig:
    """A loaded config with where it came from."""

    config: Config
    path: Path | None  # the file that was read, or None for the built-in defaults
    #: top-level key -> "default" or the file path; merged objects also get dotted sub-keys
    #: ("service.policy", "compression.zstd_level", "modes.full").
    origins: Mapping[str, str]


#: OpenClaw 2026.9's own commands. ``gateway stop`` refuses off a terminal without ``--force``;
#: ``gateway start`` has no such flag (``dist/register-service-commands-*.mjs``); ``gateway
#: status --json`` says whether a service manager runs the gateway (see
#: :mod:`snapkit.service.status`).
DEFAULT_SERVICE = ServiceConfig(
    policy="auto",
    stop_command=("openclaw", "gateway", "stop", "--force"),
    start_command=("openclaw", "gateway", "start"),
    status_command=("openclaw", "gateway", "status", "--json"),
    process_pattern=DEFAULT_PROCESS_PATTERN,
    stop_timeout=30.0,
    start_timeout=60.0,
)

DEFAULT_CONFIG = Config(
    excluded_extensions=DEFAULT_EXCLUDED_EXTENSIONS,
    excluded_folders=DEFAULT_EXCLUDED_FOLDERS,
    excluded_files=DEFAULT_EXCLUDED_FILES,
    exclude=DEFAULT_EXCLUDE,
    max_file_size=None,
    symlinks="skip",
    modes=MappingProxyType({"config-only": CONFIG_ONLY_PATTERNS, "full": None}),
    sources=(),
    sqlite="backup-api",
    service=DEFAULT_SERVICE,
    zstd_level=3,
    gzip_level=6,
    user_keys=frozenset(),
)


# --------------------------------------------------------------------------------------------
# Lookup
# --------------------------------------------------------------------------------------------


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _home(env: Mapping[str, str]) -> Path:
    for name in ("HOME", "USERPROFILE"):
        value = env.get(name, "").strip()
        if value:
            return Path(value)
    return Path.home()


def _expand_user(text: str, env: Mapping[str, str]) -> Path:
    """Expand a leading ``~`` or ``~/`` with the home directory taken from ``env``."""
    if text == "~":
        return _home(env)
    if text.startswith(("~/", "~\\")):
        return _home(env) / text[2:]
    return Path(text)


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """The per-user config path: ``$XDG_CONFIG_HOME/snapkit/config.json``.

    ``XDG_CONFIG_HOME`` is used when set to an absolute path (as the XDG spec requires);
    otherwise ``%APPDATA%`` on Windows, else ``~/.config``.
    """
    env = _env(env)
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        base = Path(xdg)
    elif _IS_WINDOWS and env.get("APPDATA", "").strip():
        base = Path(env["APPDATA"].strip())
    else:
        base = _home(env) / ".config"
    return base / "snapkit" / "config.json"


def config_search_path(
    explicit: str | Path | None, env: Mapping[str, str] | None = None
) -> list[tuple[str, Path]]:
    """Where the config is looked for, in order; the first entry is the one that applies.

    Labels are ``"--config"``, ``"$SNAPKIT_CONFIG"`` and ``"default"`` (what ``snapkit config
    path`` prints).
    """
    env = _env(env)
    found: list[tuple[str, Path]] = []
    if explicit is not None and str(explicit).strip():
        found.append(("--config", _expand_user(str(explicit).strip(), env)))
    from_env = env.get("SNAPKIT_CONFIG", "").strip()
    if from_env:
        found.append(("$SNAPKIT_CONFIG", _expand_user(from_env, env)))
    found.append(("default", default_config_path(env)))
    return found


def load_config(
    explicit: str | Path | None = None, env: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Load and validate the config that applies (see :func:`config_search_path`).

    An explicitly named file (``--config`` or ``$SNAPKIT_CONFIG``) must exist; a missing default
    file means the built-in defaults. Raises :class:`UsageError` for any problem.
    """
    env = _env(env)
    label, path = config_search_path(explicit, env)[0]
    if not path.exists():
        if label == "default":
            return LoadedConfig(DEFAULT_CONFIG, None, _origins_all_default())
        how = "--config" if label == "--config" else "SNAPKIT_CONFIG"
        raise UsageError(
            f"{path}: config file not found (named by {how}); fix the path, "
            f"or create it with `snapkit config init`"
        )
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, not a config file; name the config.json in it")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"{path}: cannot read config file: {reason}; check its permissions"
        ) from exc
    return _load_document(raw, path, env)


def _load_document(raw: bytes, path: Path, env: Mapping[str, str]) -> LoadedConfig:
    where = str(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{where}: not UTF-8 text (bad byte at offset {exc.start}); save the file as UTF-8"
        ) from exc
    document = _parse_json(text, where)
    if not isinstance(document, dict):
        raise UsageError(
            f'{where}: the top level must be a JSON object like {{"exclude": ["/logs/"]}}, '
            f"not {_describe(document)}"
        )
    config, origins = _build(document, where, env)
    return LoadedConfig(config, path, MappingProxyType(origins))


def _parse_json(text: str, where: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise UsageError(f'{where}: key "{key}" appears twice in one object; keep one')
            result[key] = value
        return result

    def constant(name: str) -> Any:
        raise UsageError(f"{where}: invalid JSON: {name} is not a JSON number; use a number")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg} "
            f"(the config is strict JSON: no comments, no trailing commas)"
        ) from exc


# --------------------------------------------------------------------------------------------
# Validation and merge
# --------------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown)
    if isinstance(value, list):
        return "a list"
    return "an object"


def _closest(key: str, valid: tuple[str, ...]) -> str | None:
    """The valid key ``key`` most likely meant: a close spelling, else one containing it."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return close[0]
    if len(key) >= 3:
        for name in valid:
            if key in name:
                return name
    return None


def _check_keys(obj: Mapping[str, Any], valid: tuple[str, ...], where: str, prefix: str) -> None:
    for key in obj:
        if key in valid:
            continue
        close = _closest(key, valid)
        hint = f'did you mean "{prefix}{close}"?' if close else "valid keys: " + ", ".join(valid)
        raise UsageError(f'{where}: unknown key "{prefix}{key}" ({hint})')


class _Checker:
    """Type checks that raise one-line errors naming the key path and the expected type."""

    def __init__(self, where: str, env: Mapping[str, str]) -> None:
        self.where = where
        self.env = env

    def fail(self, key: str, expected: str, value: Any) -> UsageError:
        return UsageError(f'{self.where}: "{key}" must be {expected}, not {_describe(value)}')

    def string_list(
        self, key: str, value: Any, what: str, item_check: Callable[[str, str], str] | None = None
    ) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"a list of {what}s", value)
        items: list[str] = []
        for index, item in enumerate(value):
            item_key = f"{key}[{index}]"
            if not isinstance(item, str) or not item.strip():
                raise self.fail(item_key, f"a non-empty string ({what})", item)
            items.append(item_check(item_key, item) if item_check else item)
        return tuple(items)

    def name(self, key: str, item: str) -> str:
        if "/" in item or "\\" in item:
            raise UsageError(
                f'{self.where}: "{key}" must be a plain name, not a path ({json.dumps(item)}); '
                f'use "exclude" for path patterns'
            )
        return item

    def extension(self, key: str, item: str) -> str:
        name = self.name(key, item).lstrip(".")
        if not name:
            raise self.fail(key, 'an extension such as "log"', item)
        return name

    def source(self, key: str, item: str) -> str:
        path = _expand_user(item.strip(), self.env)
        if not path.is_absolute():
            raise UsageError(
                f'{self.where}: "{key}" must be an absolute path or start with "~", '
                f"not {json.dumps(item)}"
            )
        return str(path)

    def choice(self, key: str, value: Any, choices: tuple[str, ...]) -> str:
        if value not in choices or not isinstance(value, str):
            raise self.fail(key, "one of " + ", ".join(f'"{c}"' for c in choices), value)
        return value

    def int_range(self, key: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"an integer from {low} to {high}", value)
        return value

    def command(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, 'a non-empty list of strings like ["openclaw", "gateway"]', value)
        return self.string_list(key, value, "command argument")

    def max_file_size(self, value: Any) -> int | None:
        expected = 'an integer number of bytes, a size like "500M", or null'
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.fail("max_file_size", expected, value)
        try:
            size = parse_size(value)
        except ValueError as exc:
            raise self.fail("max_file_size", expected, value) from exc
        if size <= 0:
            raise UsageError(
                f'{self.where}: "max_file_size" must be greater than 0, not {_describe(value)}; '
                f"use null for no limit"
            )
        return size

    def process_pattern(self, value: Any) -> str:
        key = "service.process_pattern"
        if not isinstance(value, str) or not value:
            raise self.fail(key, "a regular expression string", value)
        try:
            re.compile(value)
        except re.error as exc:
            raise UsageError(
                f'{self.where}: "{key}" is not a valid regular expression ({exc}); fix or remove it'
            ) from exc
        return value

    def timeout(self, value: Any, key: str = "service.stop_timeout") -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self.fail(key, "a number of seconds greater than 0", value)
        return float(value)

    def obj(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "an object", value)
        return value


def _build(
    document: dict[str, Any], where: str, env: Mapping[str, str]
) -> tuple[Config, dict[str, str]]:
    _check_keys(document, TOP_LEVEL_KEYS, where, "")
    check = _Checker(where, env)
    base = DEFAULT_CONFIG
    origins = _origins_all_default()
    changes: dict[str, Any] = {}

    if "excluded_extensions" in document:
        changes["excluded_extensions"] = check.string_list(
            "excluded_extensions", document["excluded_extensions"], "extension", check.extension
        )
    if "excluded_folders" in document:
        changes["excluded_folders"] = check.string_list(
            "excluded_folders", document["excluded_folders"], "folder name", check.name
        )
    if "excluded_files" in document:
        changes["excluded_files"] = check.string_list(
            "excluded_files", document["excluded_files"], "file name", check.name
        )
    if "exclude" in document:
        changes["exclude"] = check.string_list(
            "exclude", document["exclude"], "gitignore-style pattern"
        )
    section: dict[str, Any] = {}
    if "openclaw" in document:
        section = check.obj("openclaw", document["openclaw"])
        _check_keys(section, EXCLUSION_LISTS, where, "openclaw.")
        changes["openclaw"] = replace(OpenClawRules(), **{
            key: _exclusion_list(check, f"openclaw.{key}", key, value)
            for key, value in section.items()
        })
        for key in section:
            origins[f"openclaw.{key}"] = where
    if "max_file_size" in document:
        changes["max_file_size"] = check.max_file_size(document["max_file_size"])
    if "symlinks" in document:
        changes["symlinks"] = check.choice("symlinks", document["symlinks"], SYMLINK_POLICIES)
    if "sources" in document:
        changes["sources"] = check.string_list("sources", document["sources"], "path", check.source)
    if "sqlite" in document:
        changes["sqlite"] = check.choice("sqlite", document["sqlite"], SQLITE_POLICIES)
    if "modes" in document:
        changes["modes"] = _merge_modes(check, document["modes"], origins)
    if "service" in document:
        changes["service"] = _merge_service(check, document["service"], origins)
    if "compression" in document:
        compression = check.obj("compression", document["compression"])
        _check_keys(compression, COMPRESSION_KEYS, where, "compression.")
        if "zstd_level" in compression:
            changes["zstd_level"] = check.int_range(
                "compression.zstd_level", compression["zstd_level"], 1, 19
            )
        if "gzip_level" in compression:
            changes["gzip_level"] = check.int_range(
                "compression.gzip_level", compression["gzip_level"], 0, 9
            )
        for key in compression:
            origins[f"compression.{key}"] = where

    for key in document:
        origins[key] = where
    user_keys = frozenset(document) | {f"openclaw.{key}" for key in section}
    config = replace(base, **changes, user_keys=user_keys)
    return config, origins


def _exclusion_list(check: _Checker, key: str, kind: str, value: Any) -> tuple[str, ...]:
    """One of :data:`EXCLUSION_LISTS` (``kind``), validated; ``key`` names it in errors."""
    if kind == "excluded_extensions":
        return check.string_list(key, value, "extension", check.extension)
    if kind == "excluded_folders":
        return check.string_list(key, value, "folder name", check.name)
    if kind == "excluded_files":
        return check.string_list(key, value, "file name", check.name)
    return check.string_list(key, value, "gitignore-style pattern")


def _merge_modes(
    check: _Checker, value: Any, origins: dict[str, str]
) -> Mapping[str, tuple[str, ...] | None]:
    modes = dict(DEFAULT_CONFIG.modes)
    for name, spec in check.obj("modes", value).items():
        key = f"modes.{name}"
        if not _MODE_NAME.match(name):
            raise UsageError(
                f'{check.where}: mode name {json.dumps(name)} must be letters, digits, ".", "_" '
                f'or "-" (like "config-only"); rename it'
            )
        spec = check.obj(key, spec)
        _check_keys(spec, MODE_KEYS, check.where, f"{key}.")
        if "include" not in spec:
            raise UsageError(
                f'{check.where}: "{key}" needs an "include" list of patterns '
                f'(or "include": null for everything)'
            )
        include = spec["include"]
        modes[name] = (
            None
            if include is None
            else check.string_list(f"{key}.include", include, "gitignore-style pattern")
        )
        origins[key] = check.where
    return MappingProxyType(modes)


def _merge_service(check: _Checker, value: Any, origins: dict[str, str]) -> ServiceConfig:
    spec = check.obj("service", value)
    _check_keys(spec, SERVICE_KEYS, check.where, "service.")
    changes: dict[str, Any] = {}
    if "policy" in spec:
        changes["policy"] = check.choice("service.policy", spec["policy"], SERVICE_POLICIES)
    for name in ("stop_command", "start_command", "status_command"):
        if name in spec:
            changes[name] = check.command(f"service.{name}", spec[name])
    if "process_pattern" in spec:
        changes["process_pattern"] = check.process_pattern(spec["process_pattern"])
    for name in ("stop_timeout", "start_timeout"):
        if name in spec:
            changes[name] = check.timeout(spec[name], f"service.{name}")
    for key in spec:
        origins[f"service.{key}"] = check.where
    own = frozenset(k for k, v in changes.items() if v != getattr(DEFAULT_SERVICE, k))
    return replace(DEFAULT_SERVICE, **changes, user_keys=own)


def _origins_all_default() -> dict[str, str]:
    origins = dict.fromkeys(TOP_LEVEL_KEYS, "default")
    for name in DEFAULT_CONFIG.modes:
        origins[f"modes.{name}"] = "default"
    for key in SERVICE_KEYS:
        origins[f"service.{key}"] = "default"
    for key in COMPRESSION_KEYS:
        origins[f"compression.{key}"] = "default"
    for key in EXCLUSION_LISTS:
        origins[f"openclaw.{key}"] = "default"
    return origins


# --------------------------------------------------------------------------------------------
# Documents and writing
# --------------------------------------------------------------------------------------------


def _seconds(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def config_document(config: Config) -> dict[str, Any]:
    """A config as a JSON-able dict in the file's own shape (what ``config show`` prints)."""
    service = config.service
    return {
        "excluded_extensions": list(config.excluded_extensions),
        "excluded_folders": list(config.excluded_folders),
        "excluded_files": list(config.excluded_files),
        "exclude": list(config.exclude),
        "max_file_size": config.max_file_size,
        "openclaw": {key: list(getattr(config.openclaw, key)) for key in EXCLUSION_LISTS},
        "symlinks": config.symlinks,
        "modes": {
            name: {"include": None if patterns is None else list(patterns)}
            for name, patterns in config.modes.items()
        },
        "sources": list(config.sources),
        "sqlite": config.sqlite,
        "service": {
            "policy": service.policy,
            "stop_command": list(service.stop_command),
            "start_command": list(service.start_command),
            "status_command": list(service.status_command),
            "process_pattern": service.process_pattern,
            "stop_timeout": _seconds(service.stop_timeout),
            "start_timeout": _seconds(service.start_timeout),
        },
        "compression": {"zstd_level": config.zstd_level, "gzip_level": config.gzip_level},
    }


def defaults_document() -> dict[str, Any]:
    """The default config as a JSON-able dict: what ``snapkit config init`` writes.

    The exclusion defaults are OpenClaw's, so they go under ``openclaw`` (OpenClaw sources
    only), not at the top level, where they would apply to every directory: loaded back, the
    file selects exactly what no file selects, for every kind of source."""
    document = config_document(DEFAULT_CONFIG)
    for key in EXCLUSION_LISTS:
        del document[key]
    return document


def applies_to(config: Config, key: str) -> str:
    """Which sources one of :data:`EXCLUSION_LISTS` applies to, for ``config show``."""
    top = key in config.user_keys
    section = f"openclaw.{key}" in config.user_keys
    if top and section:
        return f'other directories (OpenClaw sources use "openclaw.{key}")'
    if top:
        return "every source"
    if section:
        return (f'nothing (OpenClaw sources use "openclaw.{key}", other directories get '
                f"no {key})")
    return f"OpenClaw sources only (other directories get no {key})"


def write_default_config(path: Path, force: bool) -> None:
    """Write the defaults to ``path`` (mode 0600), creating parent directories.

    Refuses with :class:`UsageError` when the file exists and ``force`` is false. The write is
    atomic: a temporary file in the same directory is renamed into place.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; name the config file to write")
    if path.exists() and not force:
        raise UsageError(
            f"{path}: already exists; edit it, or pass --force to replace it with the defaults"
        )
    text = json.dumps(defaults_document(), indent=2) + "\n"
    try:
        _make_private_dirs(path.parent)
        fd, tmp_name = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o600)
            if force:
                os.replace(tmp_name, path)
            else:
                _link_no_clobber(Path(tmp_name), path)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"{path}: cannot write config file: {reason}; check the directory"
        ) from exc


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents, each ``0700`` whatever the umask (the
    config may name credentials' paths); existing directories are left as they are."""
    missing: list[Path] = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for made in reversed(missing):
        try:
            made.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(made, 0o700)


def _link_no_clobber(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` appeared meanwhile."""
    try:
        os.link(tmp, path)
    except FileExistsError as exc:
        raise UsageError(
            f"{path}: already exists; edit it, or pass --force to replace it with the defaults"
        ) from exc
    except OSError:
        # No hard links on this filesystem: the exists() check above has to do.
        os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# Where the defaults apply
# --------------------------------------------------------------------------------------------


def exclusion_keys(config: Config, openclaw: bool, *, workspace: bool = False) -> dict[str, Any]:
    """Keyword values for the rule set of one source root.

    For an OpenClaw source (``openclaw=True``) each list is the file's ``openclaw.<key>``, else
    its top-level key, else the built-in default. For any other directory only the top-level
    keys the user's file set apply; the rest are empty (``max_file_size`` None), so nobody's
    ``logs/`` or ``tmp/`` is dropped by surprise.

    ``workspace=True`` marks an OpenClaw workspace root that is not the state dir: the default
    state-dir layout patterns (``/logs/``, ``/media/`` …, :data:`STATE_DIR_EXCLUDES`) are dropped
    there from the built-in or ``openclaw.exclude`` list, but not from a top-level ``exclude``,
    which applies as written.
    """
    result: dict[str, Any] = {}
    users = config.user_keys
    for key in EXCLUSION_LISTS:
        if openclaw:
            rules = config.openclaw if f"openclaw.{key}" in users or key not in users else config
            result[key] = tuple(getattr(rules, key))
        else:
            result[key] = tuple(getattr(config, key)) if key in users else ()
    applies = openclaw or "max_file_size" in users
    result["max_file_size"] = config.max_file_size if applies else None
    if openclaw and workspace and ("openclaw.exclude" in users or "exclude" not in users):
        result["exclude"] = tuple(p for p in result["exclude"] if p not in STATE_DIR_EXCLUDES)
    return result
