"""What discovery finds of an OpenClaw installation (:class:`Installation`, :class:`Agent`),
the names OpenClaw uses for its files, and what a snapshot takes of an installation;
:mod:`snapkit.select.openclaw` discovers it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILENAME = "openclaw.json"
#: The config name a legacy state dir may hold instead of ``openclaw.json`` (paths.ts).
LEGACY_CONFIG_FILENAMES = ("clawdbot.json",)
STATE_DIRNAME = ".openclaw"
LEGACY_STATE_DIRNAMES = (".clawdbot",)
CONFIG_ONLY_MODE = "config-only"
DEFAULT_AGENT_ID = "main"

_GITIGNORE_SPECIAL = re.compile(r"([\\*?\[\]])")


@dataclass(frozen=True)
class Agent:
    """One configured agent: its id, workspace and agent dir, with where each came from."""

    id: str
    workspace: Path
    workspace_from: str
    agent_dir: Path
    agent_dir_from: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "workspace": str(self.workspace),
                "workspace_from": self.workspace_from, "agent_dir": str(self.agent_dir),
                "agent_dir_from": self.agent_dir_from}


@dataclass(frozen=True)
class Installation:
    """One OpenClaw installation as discovered from the environment."""

    state_dir: Path
    #: how the state dir was chosen: "$OPENCLAW_STATE_DIR", "~/.openclaw (exists)",
    #: "legacy ~/.clawdbot", "default ~/.openclaw (missing)"
    state_dir_source: str
    exists: bool  # the state dir is an existing directory
    config_path: Path
    config_path_source: str
    oauth_dir: Path
    agents: tuple[Agent, ...]
    workspaces: tuple[Path, ...]  # resolved, absolute; configured ones even if missing
    #: agent dirs (and ``OPENCLAW_AGENT_DIR``): where per-agent databases and auth live
    agent_dirs: tuple[Path, ...]
    env_files: tuple[Path, ...]  # the dotenv files OpenClaw reads, existing or not
    included_configs: tuple[Path, ...]  # files pulled in by $include (transitively)
    warnings: tuple[str, ...]
    #: the loopback port this install's gateway listens on, as OpenClaw resolves it
    #: (``resolveGatewayPort``); None when it cannot be told (a profile's derived port)
    gateway_port: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """What a snapshot records of the installation (the manifest's ``openclaw`` map), so
        that a mode's subset of it can be told later on any machine (:meth:`from_dict`)."""
        return {
            "state_dir": str(self.state_dir),
            "config_path": str(self.config_path),
            "included_configs": [str(p) for p in self.included_configs],
            "env_files": [str(p) for p in self.env_files],
            "oauth_dir": str(self.oauth_dir),
            "agents": [a.to_dict() for a in self.agents],
            "agent_dirs": [str(p) for p in self.agent_dirs],
            "workspaces": [str(p) for p in self.workspaces],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Installation:
        """The installation a snapshot recorded (see :meth:`to_dict`)."""

        def paths(key: str) -> tuple[Path, ...]:
            return tuple(Path(p) for p in doc.get(key, ()) if isinstance(p, str))

        state_dir = Path(str(doc.get("state_dir", "")))
        agents = tuple(
            Agent(str(a.get("id", "")), Path(str(a.get("workspace", ""))),
                  str(a.get("workspace_from", "")), Path(str(a.get("agent_dir", ""))),
                  str(a.get("agent_dir_from", "")))
            for a in doc.get("agents", ()) if isinstance(a, Mapping)
        )
        return cls(
            state_dir=state_dir, state_dir_source="recorded in the snapshot", exists=True,
            config_path=Path(str(doc.get("config_path", state_dir / CONFIG_FILENAME))),
            config_path_source="recorded in the snapshot",
            oauth_dir=Path(str(doc.get("oauth_dir", state_dir / "credentials"))),
            agents=agents, workspaces=paths("workspaces"), agent_dirs=paths("agent_dirs"),
            env_files=paths("env_files"), included_configs=paths("included_configs"),
            warnings=(),
        )

    def config_files(self) -> tuple[Path, ...]:
        """The config file and every file it ``$include``s."""
        return (self.config_path, *self.included_configs)

    def sources(self, mode: str) -> tuple[Path, ...]:
        """Source roots of a snapshot in ``mode``.

        Always the state dir first; then, when they exist and live outside the roots already
        listed, the config file, its includes, the env files, the OAuth dir and the agent dirs
        (every mode), and the workspaces (every mode but ``config-only``).
        """
        roots: list[Path] = [self.state_dir]
        extras: list[Path] = [self.config_path, *self.included_configs, *self.env_files,
                              self.oauth_dir, *self.agent_dirs]
        if mode != CONFIG_ONLY_MODE:
            extras.extend(self.workspaces)
        for path in extras:
            if path.exists() and not any(is_within(path, root) for root in roots):
                roots.append(path)
        return tuple(roots)

    def config_include_patterns(self, root: Path) -> tuple[str, ...]:
        """Anchored patterns selecting the config and env files that lie inside ``root``.

        A mode's include list names ``/openclaw.json``; add these so that a legacy
        ``clawdbot.json``, a ``$include``d file or an env file inside the state dir is part of
        every mode too.
        """
        patterns: list[str] = []
        for path in (*self.config_files(), *self.env_files):
            if path != root and is_within(path, root):
                rel = path.relative_to(root).as_posix()
                escaped = _GITIGNORE_SPECIAL.sub(r"\\\1", rel)
                if escaped.endswith(" "):
                    escaped = escaped[:-1] + "\\ "
                patterns.append("/" + escaped)
        return tuple(dict.fromkeys(patterns))

    def kind_of(self, path: Path) -> str | None:
        """What ``path`` is to this installation: "state", "workspace", "agent", "config", or
        None."""
        path = absolute_path(path)
        if path == self.state_dir:
            return "state"
        if path in self.workspaces:
            return "workspace"
        if path in self.agent_dirs:
            return "agent"
        if path == self.oauth_dir or path in self.config_files() or path in self.env_files:
            return "config"
        return None


def is_within(path: Path, root: Path) -> bool:
    """``path`` is ``root`` or lies below it (compared as given, not resolved)."""
    return path == root or root in path.parents


def absolute_path(path: Path) -> Path:
    """Absolute, normalised, with symlinks resolved where they exist (never raises)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))
