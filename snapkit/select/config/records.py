"""The config's records: what a loaded config is, and the defaults as records.

:class:`Config` (with its :class:`ServiceConfig` and :class:`OpenClawRules`) is the effective
configuration, :class:`LoadedConfig` adds where it came from; :data:`DEFAULT_CONFIG` is what no
file means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from snapkit.select.config.defaults import (
    CONFIG_ONLY_PATTERNS,
    DEFAULT_EXCLUDE,
    DEFAULT_EXCLUDED_EXTENSIONS,
    DEFAULT_EXCLUDED_FILES,
    DEFAULT_EXCLUDED_FOLDERS,
    DEFAULT_PROCESS_PATTERN,
    ServicePolicy,
    SqlitePolicy,
    SymlinkPolicy,
)
from snapkit.select.keep import KeepPolicy


@dataclass(frozen=True)
class ServiceConfig:
    """How to stop, start and recognise the OpenClaw gateway around a snapshot."""

    policy: ServicePolicy
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


#: The config's ``retention``: a keep policy as ``forget``'s ``--keep-*`` options give one,
#: for ``snap --forget`` and ``schedule --forget``.
Retention = KeepPolicy


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
    symlinks: SymlinkPolicy
    modes: Mapping[str, tuple[str, ...] | None]  # mode name -> include patterns (None = all)
    sources: tuple[str, ...]
    sqlite: SqlitePolicy
    service: ServiceConfig
    zstd_level: int
    gzip_level: int
    #: Top-level keys the user's file set (the rest are defaults), and ``openclaw.<key>`` for
    #: each key its ``openclaw`` object sets.
    user_keys: frozenset[str]
    openclaw: OpenClawRules = OpenClawRules()
    #: the keep policy of ``snap --forget``; None: the file sets none
    retention: Retention | None = None


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
#: :mod:`snapkit.capture.service.status`).
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
