"""What a snapshot run takes: its source paths and the selection rules for each.

With no paths, the OpenClaw installation is discovered (``snapkit.select.openclaw``) and its sources
for the chosen mode are used, plus the config's extra ``sources``. Each source gets its rule
set: the OpenClaw defaults (overridden by the user's config file) for OpenClaw sources — the
state dir, its workspaces, or any directory holding an ``openclaw.json`` — and only the user's
own rules for any other directory. The snapshot and the dry run both take their matchers
from here, so they select the same files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from snapkit.format.errors import UsageError
from snapkit.select.config import LoadedConfig, exclusion_keys
from snapkit.select.config.defaults import SymlinkPolicy
from snapkit.select.openclaw import Installation, discover, is_openclaw_root
from snapkit.select.rules import Matcher, RuleSet


@dataclass(frozen=True)
class SourceRules:
    """The rule set of one source root, and how it was chosen."""

    path: str
    kind: str  # "openclaw state dir" | "openclaw workspace" | "openclaw agent dir" |
    #            "openclaw config" | "directory"
    rules: RuleSet
    description: str  # e.g. "openclaw defaults + ~/.config/snapkit/config.json, mode full"


@dataclass(frozen=True)
class SourcePlan:
    sources: tuple[str, ...]
    symlinks: SymlinkPolicy
    mode: str
    per_source: Mapping[str, SourceRules]
    installation: Installation | None

    @property
    def touches_openclaw(self) -> bool:
        """Whether any source belongs to an OpenClaw installation (the gateway may hold it)."""
        return any(sr.kind != "directory" for sr in self.per_source.values())

    def matcher_for(self, source: str) -> tuple[Matcher | None, str]:
        sr = self.per_source.get(source)
        if sr is None:
            return None, "no rules"
        return Matcher(sr.rules), sr.description


_KINDS = {"state": "openclaw state dir", "workspace": "openclaw workspace",
          "agent": "openclaw agent dir", "config": "openclaw config"}

#: A mode's patterns for the agent dirs inside the state dir; re-rooted for one elsewhere.
_AGENT_DIR_PREFIX = "/agents/*/agent/"


def agent_dir_patterns(include: Sequence[str]) -> tuple[str, ...]:
    """A mode's include patterns as they apply to an agent dir outside the state dir:
    ``/agents/*/agent/openclaw-agent.sqlite`` becomes ``/openclaw-agent.sqlite``. A mode
    naming nothing there selects nothing of it."""
    out: list[str] = []
    for pattern in include:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        if body.startswith(_AGENT_DIR_PREFIX):
            out.append(("!" if negated else "") + "/" + body[len(_AGENT_DIR_PREFIX):])
    return tuple(out)


def plan_sources(
    paths: Sequence[str],
    mode: str,
    symlinks: SymlinkPolicy | None,
    loaded: LoadedConfig,
    excludes: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    repository: str | None = None,
    markers: Sequence[str] = (),
    one_file_system: bool = False,
) -> SourcePlan:
    """Resolve the sources of one run and the rules for each (raises UsageError).

    A ``repository`` that lies inside a source is left out of it (a snapshot never stores
    the repository it is written to).
    """
    config = loaded.config
    if mode not in config.modes:
        known = ", ".join(sorted(config.modes))
        raise UsageError(f"unknown mode {mode!r}; the config defines: {known}")
    inst = discover(env)
    if paths:
        sources = [os.path.abspath(os.path.expanduser(p)) for p in paths]
        for src in sources:
            if not os.path.lexists(src):
                raise UsageError(f"source {src} does not exist; pass an existing path")
    else:
        if not inst.exists:
            raise UsageError(
                f"OpenClaw state dir {inst.state_dir} not found; set OPENCLAW_STATE_DIR or "
                "pass the paths to back up, e.g. `snapkit snap ~/projects`"
            )
        sources = [str(p) for p in inst.sources(mode)]
        for extra in config.sources:
            path = os.path.abspath(os.path.expanduser(extra))
            if not os.path.lexists(path):
                raise UsageError(f"config key \"sources\" names {path}, which does not exist; "
                                 "fix or remove it in the config file")
            sources.append(path)
    sources = list(dict.fromkeys(sources))
    origin = str(loaded.path) if loaded.path else ""
    per_source = {src: _rules_for(src, inst, loaded, mode,
                                  (*excludes, *_inside(repository, src)), origin,
                                  tuple(markers), one_file_system)
                  for src in sources}
    return SourcePlan(tuple(sources), symlinks or config.symlinks, mode, per_source,
                      inst if inst.exists else None)


def _inside(repository: str | None, source: str) -> tuple[str, ...]:
    """An anchored pattern excluding ``repository`` when it lies below ``source``."""
    if not repository:
        return ()
    repo = os.path.realpath(repository)
    root = os.path.realpath(source)
    if repo == root or not repo.startswith(root.rstrip(os.sep) + os.sep):
        return ()
    rel = os.path.relpath(repo, root).replace(os.sep, "/")
    return ("/" + re.sub(r"([\\*?\[\]!#])", r"\\\1", rel) + "/",)


def _rules_for(src: str, inst: Installation, loaded: LoadedConfig, mode: str,
               excludes: tuple[str, ...], origin: str,
               markers: tuple[str, ...] = (), one_file_system: bool = False) -> SourceRules:
    config = loaded.config
    path = Path(src)
    kind = inst.kind_of(path)
    if kind is None and os.path.isdir(src) and is_openclaw_root(path, inst):
        kind = "state"
    openclaw = kind is not None
    keys = exclusion_keys(config, openclaw, workspace=kind in ("workspace", "agent"))
    include = config.modes[mode]
    if include is not None:
        if kind == "config":
            include = None  # a config file or credentials dir outside the state dir: whole
        elif kind == "state":
            include = (*include, *inst.config_include_patterns(path))
        elif kind == "agent":
            include = agent_dir_patterns(include)
    rules = RuleSet(
        name="openclaw defaults" if openclaw else "user rules",
        excluded_extensions=keys["excluded_extensions"],
        excluded_folders=keys["excluded_folders"],
        excluded_files=keys["excluded_files"],
        exclude=(*keys["exclude"], *excludes),
        max_file_size=keys["max_file_size"],
        include=include,
        mode=mode,
        exclude_if_present=markers,
        one_file_system=one_file_system,
    )
    if openclaw:
        desc = "openclaw defaults" + (f" + {origin}" if origin else "")
    else:
        has_rules = any(keys[k] for k in ("excluded_extensions", "excluded_folders",
                                          "excluded_files", "exclude")) or excludes \
            or markers or one_file_system
        desc = (f"user rules from {origin}" if origin and has_rules
                else "user rules" if has_rules else "no exclusion rules (not an OpenClaw dir)")
    desc += f", mode {mode}"
    return SourceRules(src, _KINDS.get(kind or "", "directory"), rules, desc)


def mode_subset(sources: Sequence[str], mode: str, loaded: LoadedConfig,
                inst: Installation) -> dict[str, Matcher | None]:
    """How a ``mode`` run would select from each of ``sources``: a matcher per source, None
    for a source that mode does not take at all — the very rule :func:`plan_sources` gives a
    snapshot taken in that mode (``export --mode`` of a fuller snapshot uses it).

    ``inst`` is the installation the snapshot recorded (or, for an older snapshot, the one
    discovered now): it says which source is the state dir, a workspace, an agent dir or a
    config file, and which config and env files belong to every mode.
    """
    config = loaded.config
    if mode not in config.modes:
        known = ", ".join(sorted(config.modes))
        raise UsageError(f"unknown mode {mode!r}; the config defines: {known}")
    taken = {str(p) for p in inst.sources(mode)} if inst.exists else None
    origin = str(loaded.path) if loaded.path else ""
    out: dict[str, Matcher | None] = {}
    for src in sources:
        if taken is not None and src not in taken and inst.kind_of(Path(src)) is not None:
            out[src] = None  # e.g. a workspace in config-only
            continue
        out[src] = Matcher(_rules_for(src, inst, loaded, mode, (), origin).rules)
    return out
