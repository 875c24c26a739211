"""Where the config file is looked for: ``--config``, then ``$SNAPKIT_CONFIG``, then the
per-user default path (``$XDG_CONFIG_HOME/snapkit/config.json``; ``%APPDATA%`` on Windows).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: True on Windows, where the per-user config lives under %APPDATA%. A module attribute so
#: tests can exercise both branches.
_IS_WINDOWS = os.name == "nt"


def environment(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _home(env: Mapping[str, str]) -> Path:
    for name in ("HOME", "USERPROFILE"):
        value = env.get(name, "").strip()
        if value:
            return Path(value)
    return Path.home()


def expand_user(text: str, env: Mapping[str, str]) -> Path:
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
    env = environment(env)
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
    env = environment(env)
    found: list[tuple[str, Path]] = []
    if explicit is not None and str(explicit).strip():
        found.append(("--config", expand_user(str(explicit).strip(), env)))
    from_env = env.get("SNAPKIT_CONFIG", "").strip()
    if from_env:
        found.append(("$SNAPKIT_CONFIG", expand_user(from_env, env)))
    found.append(("default", default_config_path(env)))
    return found
