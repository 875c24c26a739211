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

The package, one module per job (each imports only those before it):

- :mod:`~snapkit.config.defaults`: the built-in OpenClaw defaults and the keys and values a
  file may use (data only);
- :mod:`~snapkit.config.records`: :class:`Config`, :class:`ServiceConfig`,
  :class:`OpenClawRules`, :class:`LoadedConfig`, and the defaults as records;
- :mod:`~snapkit.config.lookup`: where the file is looked for;
- :mod:`~snapkit.config.validate`: a document checked key by key and merged over the defaults;
- :mod:`~snapkit.config.load`: reading and parsing the file (:func:`load_config`);
- :mod:`~snapkit.config.document`: a config as a document, and ``config init``'s writing;
- :mod:`~snapkit.config.scope`: which exclusion lists apply to a source (and, for
  ``config show``, to which sources each applies).

Every public name is importable from ``snapkit.config`` itself.
"""

from __future__ import annotations

from snapkit.config.defaults import (
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
    SERVICE_KEYS,
    SERVICE_POLICIES,
    STATE_DIR_EXCLUDES,
    SYMLINK_POLICIES,
    TOP_LEVEL_KEYS,
)
from snapkit.config.document import (
    config_document,
    defaults_document,
    write_default_config,
)
from snapkit.config.load import (
    load_config,
)
from snapkit.config.lookup import (
    config_search_path,
    default_config_path,
)
from snapkit.config.records import (
    DEFAULT_CONFIG,
    DEFAULT_SERVICE,
    Config,
    LoadedConfig,
    OpenClawRules,
    ServiceConfig,
)
from snapkit.config.scope import (
    applies_to,
    exclusion_keys,
)
from snapkit.sqlite import POLICIES as SQLITE_POLICIES

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
    "SERVICE_KEYS",
    "SERVICE_POLICIES",
    "SQLITE_POLICIES",
    "STATE_DIR_EXCLUDES",
    "SYMLINK_POLICIES",
    "TOP_LEVEL_KEYS",
    "Config",
    "LoadedConfig",
    "OpenClawRules",
    "ServiceConfig",
    "applies_to",
    "config_document",
    "config_search_path",
    "default_config_path",
    "defaults_document",
    "exclusion_keys",
    "load_config",
    "write_default_config",
]
