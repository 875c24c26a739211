"""OpenClaw discovery: where an installation keeps its state, config, secrets, agents, workspaces.

This module owns the resolution rules of OpenClaw 2026.9 (read from its ``dist/``: ``paths-*``,
``home-dir-*``, ``agent-scope-config-*``, ``workspace-default-*``, ``dotenv-global-*``,
``utils-*``; see ``docs/openclaw.md``) and turns them into the source roots of a snapshot:

* **home** (``~``): ``OPENCLAW_HOME`` (itself ``~``-expanded) else ``$HOME`` (``%USERPROFILE%``).
* **state dir**: ``OPENCLAW_STATE_DIR`` (``~`` expanded, relative to the working directory),
  else ``~/.openclaw`` if it exists, else the legacy ``~/.clawdbot`` if it exists, else
  ``~/.openclaw``. ``OPENCLAW_PROFILE`` alone changes nothing: only ``openclaw --profile P``
  does, by setting ``OPENCLAW_STATE_DIR=~/.openclaw-P`` for its own process (so set that
  variable to back a profile up). There are no ``CLAWDBOT_*`` variables.
* **config file**: ``OPENCLAW_CONFIG_PATH``, else the first existing of
  ``$OPENCLAW_STATE_DIR/{openclaw,clawdbot}.json``, ``~/.openclaw/{openclaw,clawdbot}.json``,
  ``~/.clawdbot/{openclaw,clawdbot}.json``, else ``<state>/openclaw.json``. JSON5, with
  ``$include`` confined as :mod:`snapkit.select.openclaw_config` describes.
* **env files**: ``<config dir>/.env`` (``OPENCLAW_STATE_DIR``, else the directory of
  ``OPENCLAW_CONFIG_PATH``, else ``~/.openclaw``) and ``~/.config/openclaw/gateway.env`` (read
  unless ``OPENCLAW_STATE_DIR`` moves the ``.env`` away from ``~/.openclaw``).
* **agents**: ``agents.entries.<id>`` (2026.8+) wins over ``agents.list[]``; with neither, the
  implicit agent ``main``. Each agent's workspace: its ``workspace``; else, for the default agent
  (marked ``default: true``, or the only one), ``agents.defaults.workspace`` or the default
  workspace (``OPENCLAW_WORKSPACE_DIR``, else ``<state>/workspace``); else
  ``<agents.defaults.workspace>/<id>``; else ``<state>/workspace-<id>``. Each agent's dir: its
  ``agentDir``, else ``<state>/agents/<id>/agent``; ``OPENCLAW_AGENT_DIR`` relocates the shared
  main auth dir. Relative paths resolve against the working directory, as OpenClaw's
  ``path.resolve`` does.
* **OAuth dir**: ``OPENCLAW_OAUTH_DIR``, else ``<state>/credentials`` (legacy files only).

Discovery reads the filesystem and the mapping it is given; it never writes and never starts a
process. An unreadable or unparseable ``openclaw.json`` is a warning, not an error. Every path
carries where it came from, for ``snapkit where``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snapkit.select.openclaw_config import ConfigReader, gateway_port, lookup

# The installation records and names, re-exported: callers import them from here.
from snapkit.select.openclaw_install import CONFIG_FILENAME as CONFIG_FILENAME
from snapkit.select.openclaw_install import CONFIG_ONLY_MODE as CONFIG_ONLY_MODE
from snapkit.select.openclaw_install import DEFAULT_AGENT_ID as DEFAULT_AGENT_ID
from snapkit.select.openclaw_install import LEGACY_CONFIG_FILENAMES as LEGACY_CONFIG_FILENAMES
from snapkit.select.openclaw_install import LEGACY_STATE_DIRNAMES as LEGACY_STATE_DIRNAMES
from snapkit.select.openclaw_install import STATE_DIRNAME as STATE_DIRNAME
from snapkit.select.openclaw_install import Agent as Agent
from snapkit.select.openclaw_install import Installation as Installation
from snapkit.select.openclaw_install import absolute_path

_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_AGENT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _system_home(env: Mapping[str, str]) -> Path:
    for name in ("HOME", "USERPROFILE"):
        value = _get(env, name)
        if value and value not in ("undefined", "null"):
            return Path(value)
    return Path.home()


def openclaw_home(env: Mapping[str, str] | None = None) -> Path:
    """The ``~`` of OpenClaw paths: ``OPENCLAW_HOME`` when set (itself ``~``-expanded), else
    ``$HOME`` (``%USERPROFILE%``), else the account's home."""
    env = os.environ if env is None else env
    explicit = _get(env, "OPENCLAW_HOME")
    if explicit and explicit not in ("undefined", "null"):
        if explicit == "~" or explicit.startswith(("~/", "~\\")):
            return absolute_path(_system_home(env) / explicit[2:])
        return absolute_path(Path(explicit))
    return absolute_path(_system_home(env))


def _user_path(text: str, home: Path) -> Path:
    """OpenClaw's ``resolveUserPath``: a leading ``~`` is its home; anything else resolves
    against the current directory (``path.resolve``)."""
    text = text.strip()
    if text == "~":
        return home
    if text.startswith(("~/", "~\\")):
        return absolute_path(home / text[2:])
    return absolute_path(Path(text))


def _agent_id(raw: Any) -> str:
    """OpenClaw's ``normalizeAgentId``: lower case, invalid characters to ``-``, else main."""
    text = raw.strip() if isinstance(raw, str) else ""
    if _AGENT_ID.match(text):
        return text.lower()
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:64]
    return cleaned or DEFAULT_AGENT_ID


# --------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------


def _state_dir(env: Mapping[str, str], home: Path) -> tuple[Path, str]:
    value = _get(env, "OPENCLAW_STATE_DIR")
    if value:
        return _user_path(value, home), "$OPENCLAW_STATE_DIR"
    new = home / STATE_DIRNAME
    if new.exists():
        return absolute_path(new), f"~/{STATE_DIRNAME} (exists)"
    for name in LEGACY_STATE_DIRNAMES:
        legacy = home / name
        if legacy.exists():
            return absolute_path(legacy), f"legacy ~/{name}"
    return absolute_path(new), f"default ~/{STATE_DIRNAME} (missing)"


def _config_path(env: Mapping[str, str], home: Path, state_dir: Path) -> tuple[Path, str]:
    """OpenClaw's ``resolveConfigPathCandidate``."""
    value = _get(env, "OPENCLAW_CONFIG_PATH")
    if value:
        return _user_path(value, home), "$OPENCLAW_CONFIG_PATH"
    candidates: list[Path] = []
    names = (CONFIG_FILENAME, *LEGACY_CONFIG_FILENAMES)
    if _get(env, "OPENCLAW_STATE_DIR"):
        candidates.extend(state_dir / name for name in names)
    for directory in (STATE_DIRNAME, *LEGACY_STATE_DIRNAMES):
        candidates.extend(home / directory / name for name in names)
    for candidate in candidates:
        if candidate.exists():
            return absolute_path(candidate), "first existing config"
    return absolute_path(state_dir / CONFIG_FILENAME), "default (missing)"


def _env_files(env: Mapping[str, str], home: Path, config_path: Path) -> tuple[Path, ...]:
    """The dotenv files OpenClaw loads (``resolveGlobalDotEnvPaths``)."""
    if _get(env, "OPENCLAW_STATE_DIR"):
        config_dir = _user_path(env["OPENCLAW_STATE_DIR"], home)
    elif _get(env, "OPENCLAW_CONFIG_PATH"):
        config_dir = config_path.parent
    else:
        config_dir = home / STATE_DIRNAME
    state_env = absolute_path(config_dir / ".env")
    files = [state_env]
    if "OPENCLAW_STATE_DIR" not in env or state_env == absolute_path(home / STATE_DIRNAME / ".env"):
        files.append(absolute_path(home / ".config" / "openclaw" / "gateway.env"))
    return tuple(files)


def _include_roots(env: Mapping[str, str], home: Path) -> tuple[Path, ...]:
    roots: list[Path] = []
    for entry in _get(env, "OPENCLAW_INCLUDE_ROOTS").split(os.pathsep):
        if entry.strip():
            text = entry.strip()
            if text == "~" or text.startswith(("~/", "~\\")):
                root = home / text[2:]
            else:
                root = Path(os.path.abspath(text))
            roots.append(Path(os.path.normpath(root)))
    return tuple(dict.fromkeys(roots))


def _roster(document: Any, where: Path, warnings: list[str]) -> tuple[list[dict[str, Any]], str]:
    """The configured agents (each with its ``id``) and the key they came from."""
    agents = lookup(document, "agents")
    if not isinstance(agents, dict):
        return [], ""
    entries = agents.get("entries")
    if entries is not None:
        if not isinstance(entries, dict):
            warnings.append(f"{where}: agents.entries is not an object; ignored")
            return [], "agents.entries"
        return ([{**entry, "id": key} for key, entry in entries.items()
                 if isinstance(entry, dict)], "agents.entries")
    listed = agents.get("list")
    if listed is not None:
        if not isinstance(listed, list):
            warnings.append(f"{where}: agents.list is not a list; ignored")
            return [], "agents.list"
        return [entry for entry in listed if isinstance(entry, dict)], "agents.list"
    return [], ""


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _agents(document: Any, env: Mapping[str, str], home: Path, state_dir: Path,
            where: Path, warnings: list[str]) -> list[Agent]:
    """Every agent with its workspace and agent dir (``agent-scope-config``)."""
    roster, key = _roster(document, where, warnings)
    if not roster and not key:
        roster, key = [{"id": DEFAULT_AGENT_ID}], ""
    defaults_ws = _text(lookup(document, "agents", "defaults", "workspace"))
    env_ws = _get(env, "OPENCLAW_WORKSPACE_DIR")
    if env_ws:
        default_ws, default_from = absolute_path(Path(env_ws)), "$OPENCLAW_WORKSPACE_DIR"
    else:
        default_ws, default_from = state_dir / "workspace", "default <state>/workspace"
    marked = [e for e in roster if e.get("default") is True]
    ownership = lookup(document, "agents", "ownership")
    if len(marked) == 1 and ownership != "explicit":
        owner: str | None = _agent_id(marked[0].get("id"))
    elif len(roster) == 1 or (key == "agents.list" and ownership is None and not marked):
        # The sole agent; or, in a legacy list with none marked, the first one
        # (legacy.roster: resolveLegacyFirstAgentWorkspacePin).
        owner = _agent_id(roster[0].get("id"))
    else:
        owner = None
    agents: list[Agent] = []
    seen: set[str] = set()
    for entry in roster:
        agent_id = _agent_id(entry.get("id"))
        if agent_id in seen:
            continue
        seen.add(agent_id)
        label = f"{key}.{agent_id}" if key == "agents.entries" else f"{key}[{agent_id}]"
        configured = _text(entry.get("workspace"))
        if configured:
            workspace, ws_from = _user_path(configured, home), f"{label}.workspace"
        elif agent_id == owner:
            if defaults_ws:
                workspace, ws_from = _user_path(defaults_ws, home), "agents.defaults.workspace"
            else:
                workspace, ws_from = default_ws, default_from
        elif defaults_ws:
            workspace = _user_path(defaults_ws, home) / agent_id
            ws_from = "agents.defaults.workspace/<id>"
        else:
            workspace = state_dir / f"workspace-{agent_id}"
            ws_from = "default <state>/workspace-<id>"
        agent_dir_text = _text(entry.get("agentDir"))
        if agent_dir_text:
            agent_dir, dir_from = _user_path(agent_dir_text, home), f"{label}.agentDir"
        else:
            agent_dir, dir_from = state_dir / "agents" / agent_id / "agent", "default"
        agents.append(Agent(agent_id, absolute_path(workspace), ws_from, absolute_path(agent_dir),
                            dir_from))
    return agents


def discover(env: Mapping[str, str] | None = None) -> Installation:
    """Find the OpenClaw installation the environment ``env`` (default ``os.environ``) selects.

    Reads the filesystem only and never raises: whatever is odd becomes a warning.
    """
    env = os.environ if env is None else env
    home = openclaw_home(env)
    state_dir, source = _state_dir(env, home)
    config_path, config_source = _config_path(env, home, state_dir)
    oauth = _get(env, "OPENCLAW_OAUTH_DIR")
    oauth_dir = _user_path(oauth, home) if oauth else absolute_path(state_dir / "credentials")

    reader, document = _read_config(config_path, env, home)
    warnings = reader.warnings
    _warn_profile(env, warnings)
    agents = _agents(document, env, home, state_dir, config_path, warnings)
    workspaces = _workspaces(agents, document, env, home, state_dir, warnings)
    agent_dirs = list(dict.fromkeys(agent.agent_dir for agent in agents))
    shared = _get(env, "OPENCLAW_AGENT_DIR")
    if shared and _user_path(shared, home) not in agent_dirs:
        agent_dirs.append(_user_path(shared, home))

    env_files = _env_files(env, home, config_path)
    return Installation(
        state_dir=state_dir,
        state_dir_source=source,
        exists=state_dir.is_dir(),
        config_path=config_path,
        config_path_source=config_source,
        oauth_dir=oauth_dir,
        agents=tuple(agents),
        workspaces=tuple(workspaces),
        agent_dirs=tuple(agent_dirs),
        env_files=env_files,
        included_configs=tuple(reader.included),
        warnings=tuple(warnings),
        gateway_port=gateway_port(env, document, env_files),
    )



def _read_config(config_path: Path, env: Mapping[str, str], home: Path
                 ) -> tuple[ConfigReader, Any]:
    """The reader (its warnings and included files) and the config document (None: none)."""
    reader = ConfigReader(config_path, _include_roots(env, home))
    document: Any = None
    if config_path.is_file():
        document = reader.load()
    elif config_path.exists():
        reader.warnings.append(f"{config_path}: OpenClaw config is not a regular file")
    return reader, document


def _warn_profile(env: Mapping[str, str], warnings: list[str]) -> None:
    """Warn when OPENCLAW_PROFILE is set in a way that does not switch the state dir."""
    profile = _get(env, "OPENCLAW_PROFILE")
    if profile and profile.lower() != "default" and not _get(env, "OPENCLAW_STATE_DIR"):
        suffix = f"-{profile}" if _PROFILE_NAME.match(profile) else "-NAME"
        warnings.append(
            f"OPENCLAW_PROFILE={profile} is set, but OpenClaw switches its state dir only with "
            f"`openclaw --profile`; to back up that profile set OPENCLAW_STATE_DIR="
            f"~/{STATE_DIRNAME}{suffix}"
        )


def _workspaces(agents: list[Agent], document: Any, env: Mapping[str, str], home: Path,
                state_dir: Path, warnings: list[str]) -> list[Path]:
    """The agents' workspaces, then the existing loose ones OpenClaw may use, each once."""
    workspaces: list[Path] = []
    for agent in agents:
        if agent.workspace not in workspaces:
            workspaces.append(agent.workspace)
            if not agent.workspace.exists() and not agent.workspace_from.startswith("default"):
                warnings.append(f"workspace {agent.workspace} of agent {agent.id} (from "
                                f"{agent.workspace_from}) does not exist")
    # Not any agent's, but OpenClaw's to use: kept so that a backup never misses them.
    loose = [Path(p) for p in (_get(env, "OPENCLAW_WORKSPACE_DIR"),) if p]
    defaults_ws = _text(lookup(document, "agents", "defaults", "workspace"))
    if defaults_ws:
        loose.append(_user_path(defaults_ws, home))
    with contextlib.suppress(OSError):
        loose.extend(sorted(c for c in state_dir.glob("workspace-*") if c.is_dir()))
    for path in loose:
        path = absolute_path(path)
        if path.is_dir() and path not in workspaces:
            workspaces.append(path)
    return workspaces


def is_openclaw_root(path: Path, installation: Installation | None = None) -> bool:
    """True when ``path`` holds an ``openclaw.json`` (or a legacy config name) at its root, or is
    a root the discovered installation names (state dir, workspace, agent, config or env file).

    ``installation`` defaults to :func:`discover` of the current environment.
    """
    path = absolute_path(path)
    if path.is_dir() and any(
        (path / name).is_file() for name in (CONFIG_FILENAME, *LEGACY_CONFIG_FILENAMES)
    ):
        return True
    found = discover() if installation is None else installation
    return found.kind_of(path) is not None
