"""The JSON config file: built-in defaults, lookup, merge and validation.

This module owns everything about ``config.json``: where it is looked for (``--config``, then
``$SNAPKIT_CONFIG``, then the per-user default path), the built-in defaults that are right for an
OpenClaw installation, how a file overrides them (key by key; ``modes``, ``service`` and
``compression`` merge per sub-key), and validation that rejects a bad file at load time with one
line naming the key, the problem and the fix (:class:`~snapkit.format.errors.UsageError`, exit 2).
It also decides which exclusion keys apply to a source (:func:`exclusion_keys`): the built-in
defaults apply to OpenClaw sources only; any other directory gets only what the user wrote.
A file's top-level exclusion keys apply to every source; its ``openclaw`` object holds the
exclusion lists for OpenClaw sources only (replacing the built-in defaults, and winning over
the top-level keys there). ``snapkit config init`` writes the defaults under ``openclaw``, so
the file it writes selects exactly what no file selects, for every kind of source.

The file format is documented key by key in ``docs/configuration.md``.

The package, one module per job (each imports only those before it):

- :mod:`~snapkit.select.config.defaults`: the built-in OpenClaw defaults and the keys and values a
  file may use (data only);
- :mod:`~snapkit.select.config.records`: :class:`Config`, :class:`ServiceConfig`,
  :class:`OpenClawRules`, :class:`LoadedConfig`, and the defaults as records;
- :mod:`~snapkit.select.config.lookup`: where the file is looked for;
- :mod:`~snapkit.select.config.validate`: a document checked key by key and merged over the
  defaults;
- :mod:`~snapkit.select.config.load`: reading and parsing the file (:func:`load_config`);
- :mod:`~snapkit.select.config.document`: a config as a document, and ``config init``'s writing;
- :mod:`~snapkit.select.config.scope`: which exclusion lists apply to a source (and, for
  ``config show``, to which sources each applies).

Every public name is importable from ``snapkit.select.config`` itself.
"""

from __future__ import annotations

from snapkit.select.config.defaults import (
    COMPRESSION_KEYS,
    CONFIG_ONLY_PATTERNS,
    DEFAULT_EXCLUDE,
    DEFAULT_EXCLUDED_EXTENSIONS,
    DEFAULT_EXCLUDED_FILES,
    DEFAULT_EXCLUDED_FOLDERS,
    DEFAULT_PROCESS_PATTERN,
    EXCLUSION_LISTS,
    FILE_EXCLUDES,
    LOCKFILE_KEEP,
    MODE_KEYS,
    RETENTION_KEYS,
    SERVICE_KEYS,
    SERVICE_POLICIES,
    SQLITE_POLICIES,
    STATE_DIR_EXCLUDES,
    SYMLINK_POLICIES,
    TOP_LEVEL_KEYS,
    ServicePolicy,
    SqlitePolicy,
    SymlinkPolicy,
)
from snapkit.select.config.document import (
    config_document,
    defaults_document,
    retention_document,
    write_default_config,
)
from snapkit.select.config.load import (
    load_config,
)
from snapkit.select.config.lookup import (
    config_search_path,
    default_config_path,
)
from snapkit.select.config.records import (
    DEFAULT_CONFIG,
    DEFAULT_SERVICE,
    Config,
    LoadedConfig,
    OpenClawRules,
    Retention,
    ServiceConfig,
)
from snapkit.select.config.scope import (
    applies_to,
    exclusion_keys,
)

__all__ = [
    "COMPRESSION_KEYS",
    "CONFIG_ONLY_PATTERNS",
    "DEFAULT_CONFIG",
    "DEFAULT_EXCLUDE",
    "DEFAULT_EXCLUDED_EXTENSIONS",
    "DEFAULT_EXCLUDED_FILES",
    "DEFAULT_EXCLUDED_FOLDERS",
    "DEFAULT_PROCESS_PATTERN",
    "DEFAULT_SERVICE",
    "EXCLUSION_LISTS",
    "FILE_EXCLUDES",
    "LOCKFILE_KEEP",
    "MODE_KEYS",
    "RETENTION_KEYS",
    "SERVICE_KEYS",
    "SERVICE_POLICIES",
    "SQLITE_POLICIES",
    "STATE_DIR_EXCLUDES",
    "SYMLINK_POLICIES",
    "TOP_LEVEL_KEYS",
    "Config",
    "LoadedConfig",
    "OpenClawRules",
    "Retention",
    "ServiceConfig",
    "ServicePolicy",
    "SqlitePolicy",
    "SymlinkPolicy",
    "applies_to",
    "config_document",
    "config_search_path",
    "default_config_path",
    "defaults_document",
    "exclusion_keys",
    "load_config",
    "retention_document",
    "write_default_config",
]
