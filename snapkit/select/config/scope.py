"""Which exclusion lists apply to a source.

The built-in defaults apply to OpenClaw sources only; any other directory gets only what the
user wrote. A file's top-level exclusion keys apply to every source; its ``openclaw`` object
holds the lists for OpenClaw sources only (replacing the built-in defaults, and winning over the
top-level keys there).
"""

from __future__ import annotations

from typing import Any

from snapkit.select.config.defaults import EXCLUSION_LISTS, STATE_DIR_EXCLUDES
from snapkit.select.config.records import Config


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
