"""OpenClaw discovery: where an installation keeps its state, config, credentials and workspaces.

This module owns the resolution rules OpenClaw itself applies (``docs/configuration.md``,
"OpenClaw discovery"): the state dir from ``OPENCLAW_STATE_DIR`` / ``CLAWDBOT_STATE_DIR``,
``OPENCLAW_PROFILE``, ``OPENCLAW_HOME`` and the legacy ``~/.clawdbot``-style dirs; the config file
(``OPENCLAW_CONFIG_PATH``, JSON5, following ``$include``); the OAuth dir; and the workspace(s)
(``OPENCLAW_WORKSPACE_DIR``, ``agents.defaults.workspace``, ``agents.list[].workspace``,
``<state>/workspace-<agentId>/``). It turns them into the source roots of a snapshot per mode.

Discovery is a pure function of the environment mapping it is given plus filesystem reads: it
never writes, never starts a process, and an unreadable or unparseable ``openclaw.json`` is a
warning, not an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import json5

from snapkit.errors import UsageError

CONFIG_FILENAME = "openclaw.json"
#: Config names a legacy state dir may hold instead of ``openclaw.json`` (OpenClaw's paths.ts).
LEGACY_CONFIG_FILENAMES = ("clawdbot.json", "moldbot.json", "moltbot.json")
STATE_DIRNAME = ".openclaw"
LEGACY_STATE_DIRNAMES = (".clawdbot", ".moldbot", ".moltbot")
INCLUDE_KEY = "$include"
MAX_INCLUDE_DEPTH = 10  # as OpenClaw's includes.ts
CONFIG_ONLY_MODE = "config-only"

_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_GITIGNORE_SPECIAL = re.compile(r"([\\*?\[\]])")


@dataclass(frozen=True)
class Installation:
    """One OpenClaw installation as discovered from the environment."""

    state_dir: Path
    #: how the state dir was chosen: "$OPENCLAW_STATE_DIR", "$CLAWDBOT_STATE_DIR (legacy)",
    #: "$OPENCLAW_PROFILE=work", "~/.openclaw (exists)", "legacy ~/.clawdbot",
    #: "default ~/.openclaw (missing)"
    state_dir_source: str
    exists: bool  # the state dir is an existing directory
    config_path: Path
    oauth_dir: Path
    workspaces: tuple[Path, ...]  # resolved, absolute; configured ones even if missing
    included_configs: tuple[Path, ...]  # files pulled in by $include (transitively)
    warnings: tuple[str, ...]

    def config_files(self) -> tuple[Path, ...]:
        """The config file and every file it ``$include``s."""
        return (self.config_path, *self.included_configs)

    def sources(self, mode: str) -> tuple[Path, ...]:
        """Source roots of a snapshot in ``mode``.

        Always the state dir first; then, when they exist and live outside the roots already
        listed, the config file, the OAuth dir and the included config files (all modes) and
        the workspaces (every mode but ``config-only``). Extra roots are taken whole by nature
        (config, credentials) or are workspaces; a mode's include patterns are relative to the
        state dir.
        """
        roots: list[Path] = [self.state_dir]
        extras: list[Path] = [self.config_path, self.oauth_dir, *self.included_configs]
        if mode != CONFIG_ONLY_MODE:
            extras.extend(self.workspaces)
        for path in extras:
            if path.exists() and not any(_is_within(path, root) for root in roots):
                roots.append(path)
        return tuple(roots)

    def config_include_patterns(self, root: Path) -> tuple[str, ...]:
        """Anchored patterns selecting the config files that lie inside ``root``.

        The default ``config-only`` patterns name ``/openclaw.json`` only; add these to a mode's
        include list so that a legacy ``clawdbot.json`` or a ``$include``d file inside the state
        dir is part of the selection too.
        """
        patterns: list[str] = []
        for path in self.config_files():
            if path != root and _is_within(path, root):
                rel = path.relative_to(root).as_posix()
                escaped = _GITIGNORE_SPECIAL.sub(r"\\\1", rel)
                if escaped.endswith(" "):
                    escaped = escaped[:-1] + "\\ "
                patterns.append("/" + escaped)
        return tuple(dict.fromkeys(patterns))

    def kind_of(self, path: Path) -> str | None:
        """What ``path`` is to this installation: "state", "workspace", "config", or None."""
        path = _absolute(path)
        if path == self.state_dir:
            return "state"
        if path in self.workspaces:
            return "workspace"
        if path == self.oauth_dir or path in self.config_files():
            return "config"
        return None


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _absolute(path: Path) -> Path:
    """Absolute, normalised, with symlinks resolved where they exist (never raises)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _system_home(env: Mapping[str, str]) -> Path:
    for name in ("HOME", "USERPROFILE"):
        value = _get(env, name)
        if value:
            return Path(value)
    return Path.home()


def openclaw_home(env: Mapping[str, str] | None = None) -> Path:
    """The ``~`` of OpenClaw paths: ``OPENCLAW_HOME`` when set (itself ``~``-expanded), else
    ``$HOME`` (``%USERPROFILE%``), else the account's home."""
    env = os.environ if env is None else env
    explicit = _get(env, "OPENCLAW_HOME")
    if explicit:
        if explicit == "~" or explicit.startswith(("~/", "~\\")):
            return _absolute(_system_home(env) / explicit[2:])
        return _absolute(Path(explicit))
    return _absolute(_system_home(env))


def _user_path(text: str, home: Path, relative_to: Path | None = None) -> Path:
    """Expand a leading ``~`` with OpenClaw's home; resolve relative paths against
    ``relative_to`` (default: the current directory, as OpenClaw's ``path.resolve``)."""
    text = text.strip()
    if text == "~":
        return home
    if text.startswith(("~/", "~\\")):
        return _absolute(home / text[2:])
    path = Path(text)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    return _absolute(path)


# --------------------------------------------------------------------------------------------
# openclaw.json and $include
# --------------------------------------------------------------------------------------------


class _ConfigReader:
    """Reads ``openclaw.json`` with json5 and resolves ``$include`` the way OpenClaw does.

    ``$include`` may appear in any object: a path or a list of paths relative to the including
    file; included objects deep-merge (objects recursively, lists concatenate, sibling keys
    win). Problems become warnings; whatever could be read is kept.
    """

    def __init__(self) -> None:
        self.included: list[Path] = []
        self.warnings: list[str] = []

    def load(self, path: Path) -> Any:
        return self._load_file(path, chain=(path,))

    def _read(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            self.warnings.append(f"{path}: cannot read OpenClaw config: {reason}")
            return None
        try:
            return json5.loads(text)
        except ValueError as exc:
            self.warnings.append(f"{path}: cannot parse OpenClaw config (JSON5): {exc}")
            return None

    def _load_file(self, path: Path, chain: tuple[Path, ...]) -> Any:
        return self._process(self._read(path), path, chain)

    def _process(self, value: Any, path: Path, chain: tuple[Path, ...]) -> Any:
        if isinstance(value, list):
            return [self._process(item, path, chain) for item in value]
        if not isinstance(value, dict):
            return value
        rest = {k: self._process(v, path, chain) for k, v in value.items() if k != INCLUDE_KEY}
        if INCLUDE_KEY not in value:
            return rest
        included = self._include(value[INCLUDE_KEY], path, chain)
        if not rest:
            return included
        if not isinstance(included, dict):
            return rest
        return _deep_merge(included, rest)

    def _include(self, spec: Any, path: Path, chain: tuple[Path, ...]) -> Any:
        items = [spec] if isinstance(spec, str) else spec
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.warnings.append(f"{path}: $include must be a path or a list of paths; ignored")
            return {}
        merged: Any = {}
        for item in items:
            target = _absolute(path.parent / item)
            if target in chain:
                self.warnings.append(f"{path}: $include {item!r} is circular; ignored")
                continue
            if len(chain) > MAX_INCLUDE_DEPTH:
                self.warnings.append(
                    f"{path}: $include {item!r} nests deeper than {MAX_INCLUDE_DEPTH}; ignored"
                )
                continue
            if target not in self.included:
                self.included.append(target)
            if not target.is_file():
                self.warnings.append(f"{path}: $include {item!r}: no such file {target}")
                continue
            merged = _deep_merge(merged, self._load_file(target, (*chain, target)))
        return merged


def _deep_merge(target: Any, source: Any) -> Any:
    if isinstance(target, list) and isinstance(source, list):
        return [*target, *source]
    if isinstance(target, dict) and isinstance(source, dict):
        result = dict(target)
        for key, value in source.items():
            result[key] = _deep_merge(result[key], value) if key in result else value
        return result
    return source


def _lookup(document: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


# --------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------


def _state_dir(env: Mapping[str, str], home: Path) -> tuple[Path, str, str | None]:
    """(state dir, how it was chosen, profile or None)."""
    for name, label in (
        ("OPENCLAW_STATE_DIR", "$OPENCLAW_STATE_DIR"),
        ("CLAWDBOT_STATE_DIR", "$CLAWDBOT_STATE_DIR (legacy)"),
    ):
        value = _get(env, name)
        if value:
            return _user_path(value, home), label, _profile(env)
    profile = _profile(env)
    if profile is not None:
        suffix = "" if profile.lower() == "default" else f"-{profile}"
        return _absolute(home / f"{STATE_DIRNAME}{suffix}"), f"$OPENCLAW_PROFILE={profile}", profile
    new = home / STATE_DIRNAME
    if new.exists():
        return _absolute(new), f"~/{STATE_DIRNAME} (exists)", None
    for name in LEGACY_STATE_DIRNAMES:
        legacy = home / name
        if legacy.exists():
            return _absolute(legacy), f"legacy ~/{name}", None
    return _absolute(new), f"default ~/{STATE_DIRNAME} (missing)", None


def _profile(env: Mapping[str, str]) -> str | None:
    profile = _get(env, "OPENCLAW_PROFILE")
    if not profile:
        return None
    if not _PROFILE_NAME.match(profile):
        raise UsageError(
            f"OPENCLAW_PROFILE={profile!r} is not a valid OpenClaw profile name "
            f'(letters, digits, "_" and "-"); fix or unset OPENCLAW_PROFILE'
        )
    return profile


def _config_path(env: Mapping[str, str], home: Path, state_dir: Path) -> Path:
    for name in ("OPENCLAW_CONFIG_PATH", "CLAWDBOT_CONFIG_PATH"):
        value = _get(env, name)
        if value:
            return _user_path(value, home)
    canonical = state_dir / CONFIG_FILENAME
    if not canonical.exists():
        for name in LEGACY_CONFIG_FILENAMES:
            if (state_dir / name).exists():
                return _absolute(state_dir / name)
    return _absolute(canonical)


def discover(env: Mapping[str, str] | None = None) -> Installation:
    """Find the OpenClaw installation the environment ``env`` (default ``os.environ``) selects.

    Reads the filesystem only. Raises :class:`UsageError` only for an invalid
    ``OPENCLAW_PROFILE``; everything else that is odd becomes a warning.
    """
    env = os.environ if env is None else env
    home = openclaw_home(env)
    state_dir, source, profile = _state_dir(env, home)
    config_path = _config_path(env, home, state_dir)
    oauth = _get(env, "OPENCLAW_OAUTH_DIR")
    oauth_dir = _user_path(oauth, home) if oauth else _absolute(state_dir / "credentials")

    reader = _ConfigReader()
    document: Any = None
    if config_path.is_file():
        document = reader.load(config_path)
    elif config_path.exists():
        reader.warnings.append(f"{config_path}: OpenClaw config is not a regular file")
    warnings = reader.warnings

    workspaces: list[Path] = []

    def add(path: Path, configured_by: str | None) -> None:
        if path not in workspaces:
            workspaces.append(path)
        if configured_by and not path.exists():
            warnings.append(f"workspace {path} (from {configured_by}) does not exist")

    env_workspace = _get(env, "OPENCLAW_WORKSPACE_DIR")
    config_workspace = _lookup(document, "agents", "defaults", "workspace")
    if isinstance(config_workspace, str) and not config_workspace.strip():
        config_workspace = None
    if env_workspace:
        add(_user_path(env_workspace, home), "$OPENCLAW_WORKSPACE_DIR")
    if isinstance(config_workspace, str):
        # Both are kept when both are set: which one the gateway uses for the default agent is
        # OpenClaw's business; a backup must not miss it.
        add(_user_path(config_workspace, home, state_dir), "agents.defaults.workspace")
    elif config_workspace is not None:
        warnings.append(f"{config_path}: agents.defaults.workspace is not a string; ignored")
    if not env_workspace and not isinstance(config_workspace, str):
        add(_absolute(state_dir / "workspace"), None)
        if profile is not None and profile.lower() != "default":
            # OpenClaw's own default for a profile's main agent.
            profile_workspace = home / STATE_DIRNAME / f"workspace-{profile}"
            if profile_workspace.is_dir():
                add(_absolute(profile_workspace), None)

    agents = _lookup(document, "agents", "list")
    if isinstance(agents, list):
        for entry in agents:
            workspace = _lookup(entry, "workspace")
            if isinstance(workspace, str) and workspace.strip():
                add(_user_path(workspace, home, state_dir), "agents.list[].workspace")

    try:
        extra = sorted(child for child in state_dir.glob("workspace-*") if child.is_dir())
    except OSError:
        extra = []
    for child in extra:
        add(_absolute(child), None)

    return Installation(
        state_dir=state_dir,
        state_dir_source=source,
        exists=state_dir.is_dir(),
        config_path=config_path,
        oauth_dir=oauth_dir,
        workspaces=tuple(workspaces),
        included_configs=tuple(reader.included),
        warnings=tuple(warnings),
    )


def is_openclaw_root(path: Path, installation: Installation | None = None) -> bool:
    """True when ``path`` holds an ``openclaw.json`` (or a legacy config name) at its root, or is
    a root the discovered installation names (state dir, workspace, config or OAuth dir).

    ``installation`` defaults to :func:`discover` of the current environment.
    """
    path = _absolute(path)
    if path.is_dir() and any(
        (path / name).is_file() for name in (CONFIG_FILENAME, *LEGACY_CONFIG_FILENAMES)
    ):
        return True
    found = discover() if installation is None else installation
    return found.kind_of(path) is not None
